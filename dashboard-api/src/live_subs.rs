//! What one live connection follows: beds named directly, patients through
//! their current admission, and wards through the current admissions to
//! them. [`Subscriptions::followed`] turns that into the beds whose samples
//! the connection receives, with the patient each bed's samples belong to
//! where a patient or ward subscription resolved it.
//!
//! Patients and wards are resolved in the caller's tenant transaction
//! (row-level security), when subscribed and again at every session check
//! of the connection ([`crate::live::SESSION_CHECK`]). Limit: a transfer,
//! admission or discharge is followed at the next check, not at once; a
//! ward subscription follows occupied beds only (the ward of a bed is known
//! from the admission to it).

use std::collections::{BTreeMap, HashMap, HashSet};

use tokio_postgres::Transaction;

use crate::audit::{self, Action};
use crate::db::{begin_tenant, query};
use crate::http::Principal;
use crate::problem::ApiError;

/// A thing a client subscribes to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Topic {
    /// A bed.
    Bed(String),
    /// A patient, through their current admission.
    Patient(String),
    /// A ward, through the current admissions to it.
    Ward(String),
}

impl Topic {
    /// The kind, as in subscription messages and audit entries.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Bed(_) => "bed",
            Self::Patient(_) => "patient",
            Self::Ward(_) => "ward",
        }
    }

    /// The identifier.
    pub(crate) fn id(&self) -> &str {
        match self {
            Self::Bed(x) | Self::Patient(x) | Self::Ward(x) => x,
        }
    }
}

/// A topic resolved to beds, each with its current patient when known.
type Resolved = BTreeMap<String, Option<String>>;

/// The topics of one connection and what they resolved to.
#[derive(Debug, Default)]
pub(crate) struct Subscriptions {
    topics: HashMap<Topic, Resolved>,
}

impl Subscriptions {
    /// How many topics are followed.
    pub(crate) fn len(&self) -> usize {
        self.topics.len()
    }

    /// Follows `topic`, resolved to `beds`.
    pub(crate) fn insert(&mut self, topic: Topic, beds: Resolved) {
        self.topics.insert(topic, beds);
    }

    /// Stops following `topic`.
    pub(crate) fn remove(&mut self, topic: &Topic) {
        self.topics.remove(topic);
    }

    /// Whether the ward is followed.
    pub(crate) fn follows_ward(&self, ward: &str) -> bool {
        self.topics.contains_key(&Topic::Ward(ward.to_owned()))
    }

    /// The patient and ward topics, to resolve again.
    pub(crate) fn resolvable(&self) -> Vec<Topic> {
        self.topics
            .keys()
            .filter(|t| !matches!(t, Topic::Bed(_)))
            .cloned()
            .collect()
    }

    /// Every followed bed, with its patient where a topic resolved one.
    pub(crate) fn followed(&self) -> HashMap<String, Option<String>> {
        let mut out: HashMap<String, Option<String>> = HashMap::new();
        for beds in self.topics.values() {
            for (bed, patient) in beds {
                let slot = out.entry(bed.clone()).or_default();
                if slot.is_none() {
                    slot.clone_from(patient);
                }
            }
        }
        out
    }
}

/// What `topic` follows now. `None` for a patient this tenant does not have.
pub(crate) async fn resolve(
    tx: &Transaction<'_>,
    topic: &Topic,
) -> Result<Option<Resolved>, ApiError> {
    let rows = match topic {
        Topic::Bed(b) => return Ok(Some(BTreeMap::from([(b.clone(), None)]))),
        Topic::Patient(p) => {
            let known = tx
                .query_opt("SELECT 1 FROM patients WHERE id = $1", &[p])
                .await
                .map_err(query("look up a patient"))?;
            if known.is_none() {
                return Ok(None);
            }
            tx.query(
                "SELECT bed_id, patient_id FROM admissions
                 WHERE patient_id = $1 AND discharged_at IS NULL AND admitted_at <= now()",
                &[p],
            )
            .await
            .map_err(query("resolve a patient's bed"))?
        }
        Topic::Ward(w) => tx
            .query(
                "SELECT bed_id, patient_id FROM admissions
                 WHERE ward_id = $1 AND discharged_at IS NULL AND admitted_at <= now()",
                &[w],
            )
            .await
            .map_err(query("resolve a ward's beds"))?,
    };
    Ok(Some(
        rows.iter()
            .map(|r| (r.get::<_, String>(0), Some(r.get::<_, String>(1))))
            .collect(),
    ))
}

/// Resolves `topic` for a new subscription and audits it: one entry for the
/// topic, and one per patient whose data it opens. `None` for an unknown
/// patient.
pub(crate) async fn subscribe(
    core: &crate::core::ApiCore,
    who: &Principal,
    topic: &Topic,
) -> Result<Option<Resolved>, ApiError> {
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    let Some(beds) = resolve(&tx, topic).await? else {
        return Ok(None);
    };
    let mut e = who.event(Action::R, "vitals.live.subscribe", topic.kind());
    e.entity_id = Some(topic.id().to_owned());
    if let Topic::Patient(p) = topic {
        e.patient_id = Some(p.clone());
    }
    audit::append(&tx, &e).await?;
    if let Topic::Ward(_) = topic {
        let patients: HashSet<&String> = beds.values().flatten().collect();
        for p in patients {
            let mut e = who.event(Action::R, "vitals.live.subscribe", "patient");
            e.entity_id = Some(p.clone());
            e.patient_id = Some(p.clone());
            e.reason = Some(format!("ward {}", topic.id()));
            audit::append(&tx, &e).await?;
        }
    }
    tx.commit().await.map_err(query("commit a subscription"))?;
    Ok(Some(beds))
}

/// Resolves every patient and ward topic again (see the module docs).
pub(crate) async fn refresh(
    core: &crate::core::ApiCore,
    who: &Principal,
    subs: &std::sync::Mutex<Subscriptions>,
) -> Result<(), ApiError> {
    let topics = subs
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .resolvable();
    if topics.is_empty() {
        return Ok(());
    }
    let mut conn = core.pool.get().await?;
    let tx = begin_tenant(conn.client(), &who.tenant).await?;
    let mut fresh = Vec::with_capacity(topics.len());
    for t in topics {
        let beds = resolve(&tx, &t).await?.unwrap_or_default();
        fresh.push((t, beds));
    }
    tx.commit().await.map_err(query("commit"))?;
    let mut s = subs
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for (t, beds) in fresh {
        if s.topics.contains_key(&t) {
            s.insert(t, beds);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn followed_beds_merge_topics_and_keep_known_patients() {
        let mut s = Subscriptions::default();
        s.insert(
            Topic::Bed("b1".into()),
            BTreeMap::from([("b1".into(), None)]),
        );
        s.insert(
            Topic::Ward("w".into()),
            BTreeMap::from([
                ("b1".into(), Some("p1".into())),
                ("b2".into(), Some("p2".into())),
            ]),
        );
        let f = s.followed();
        assert_eq!(f.len(), 2);
        assert_eq!(f["b1"].as_deref(), Some("p1"));
        assert_eq!(s.resolvable(), [Topic::Ward("w".into())]);
        s.remove(&Topic::Ward("w".into()));
        assert_eq!(s.followed()["b1"], None);
        assert_eq!(s.len(), 1);
    }
}
