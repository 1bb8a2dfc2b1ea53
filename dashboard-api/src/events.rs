//! The hospital modules' named live events: `appointment:status:change`,
//! `staff:message:new` and `inventory:stock:low`.
//!
//! A module handler publishes an event after the transaction that made the
//! change has committed, never before: a client never hears of a change
//! that was rolled back. The live endpoint ([`crate::live`]) forwards each
//! event to the connections of the same tenant that its [`Audience`] names.
//!
//! The bus is a bounded broadcast channel held in memory: an event reaches
//! the connections open when it is published, and a connection that falls
//! [`BUS_EVENTS`] events behind is dropped as a slow consumer like for
//! vitals. The module's own table is the record; a client that reconnects
//! reads it there (for example its unread messages) instead of expecting
//! missed events to be replayed.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::broadcast;

use crate::http::Principal;
use crate::roles::{best_access, Access, Permission, Role};
use crate::tenant::TenantId;

/// Events the bus holds for its slowest live connection.
pub const BUS_EVENTS: usize = 1024;

/// The name of a module event, as in the `event` field of its frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventName {
    /// An appointment moved from one status to another.
    AppointmentStatusChange,
    /// A staff message was sent.
    StaffMessageNew,
    /// An inventory item fell to or below its reorder level.
    InventoryStockLow,
}

impl EventName {
    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AppointmentStatusChange => "appointment:status:change",
            Self::StaffMessageNew => "staff:message:new",
            Self::InventoryStockLow => "inventory:stock:low",
        }
    }
}

/// Who on the event's tenant receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Every connection whose roles allow the permission outright (not by
    /// break-the-glass).
    Permission(Permission),
    /// The connections of one user.
    User(String),
    /// The connections of users holding the role.
    Role(Role),
    /// The connections following the ward (a `{"subscribe": {"ward": ..}}`).
    Ward(String),
}

/// One event of a hospital module.
#[derive(Debug, Clone)]
pub struct ModuleEvent {
    /// The tenant the change belongs to.
    pub tenant: TenantId,
    /// What happened.
    pub name: EventName,
    /// Who hears of it.
    pub audience: Audience,
    /// The event's body, the `data` field of the frame.
    pub data: Value,
}

impl ModuleEvent {
    /// Whether `who`, following `wards`, receives this event.
    pub fn reaches(&self, who: &Principal, follows_ward: impl Fn(&str) -> bool) -> bool {
        if self.tenant != who.tenant {
            return false;
        }
        match &self.audience {
            Audience::Permission(p) => best_access(&who.roles, *p) == Access::Allow,
            Audience::User(u) => *u == who.user_id,
            Audience::Role(r) => who.roles.contains(r),
            Audience::Ward(w) => follows_ward(w),
        }
    }

    /// The frame sent to a client.
    pub fn frame(&self) -> String {
        serde_json::json!({"event": self.name.as_str(), "data": &self.data}).to_string()
    }
}

/// The bus module handlers publish to and live connections read.
#[derive(Debug, Clone)]
pub struct ModuleEvents(broadcast::Sender<Arc<ModuleEvent>>);

impl Default for ModuleEvents {
    fn default() -> Self {
        Self(broadcast::channel(BUS_EVENTS).0)
    }
}

impl ModuleEvents {
    /// Sends `event` to the live connections open now. Call it after the
    /// change's transaction has committed.
    pub fn publish(&self, event: ModuleEvent) {
        tracing::debug!(event = event.name.as_str(), "Module event published");
        // No receiver means no live connection: nothing to deliver.
        let _ = self.0.send(Arc::new(event));
    }

    /// A receiver of the events published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ModuleEvent>> {
        self.0.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::RequestCtx;

    fn who(tenant: &str, user: &str, roles: &[Role]) -> Principal {
        Principal {
            user_id: user.to_owned(),
            tenant: TenantId::parse(tenant).unwrap(),
            roles: roles.to_vec(),
            session_id: "s".to_owned(),
            break_glass: None,
            ctx: RequestCtx::default(),
        }
    }

    fn event(tenant: &str, audience: Audience) -> ModuleEvent {
        ModuleEvent {
            tenant: TenantId::parse(tenant).unwrap(),
            name: EventName::InventoryStockLow,
            audience,
            data: serde_json::json!({"item": "x"}),
        }
    }

    #[test]
    fn audiences_select_connections_of_the_same_tenant() {
        let nurse = who("site-a", "u1", &[Role::Nurse]);
        let pharmacist = who("site-a", "u2", &[Role::Pharmacist]);
        let other_site = who("site-b", "u1", &[Role::Nurse]);
        let never = |_: &str| false;
        let icu = |w: &str| w == "icu";

        let by_role = event("site-a", Audience::Role(Role::Pharmacist));
        assert!(by_role.reaches(&pharmacist, never));
        assert!(!by_role.reaches(&nurse, never));

        let to_user = event("site-a", Audience::User("u1".into()));
        assert!(to_user.reaches(&nurse, never));
        assert!(!to_user.reaches(&pharmacist, never));
        assert!(!to_user.reaches(&other_site, never));

        let to_ward = event("site-a", Audience::Ward("icu".into()));
        assert!(to_ward.reaches(&nurse, icu));
        assert!(!to_ward.reaches(&nurse, never));
        assert!(!to_ward.reaches(&other_site, icu));

        // Break-the-glass access does not count: a pharmacist is not sent
        // vitals-level events.
        let vitals = event("site-a", Audience::Permission(Permission::VitalsRead));
        assert!(vitals.reaches(&nurse, never));
        assert!(!vitals.reaches(&pharmacist, never));
    }

    #[test]
    fn frames_name_the_event_and_carry_the_data() {
        let e = event("site-a", Audience::Role(Role::Nurse));
        let v: Value = serde_json::from_str(&e.frame()).unwrap();
        assert_eq!(v["event"], "inventory:stock:low");
        assert_eq!(v["data"]["item"], "x");
    }

    #[tokio::test]
    async fn subscribers_receive_what_is_published_after_they_subscribe() {
        let bus = ModuleEvents::default();
        bus.publish(event("site-a", Audience::Role(Role::Nurse)));
        let mut rx = bus.subscribe();
        bus.publish(event("site-a", Audience::User("u9".into())));
        let got = rx.recv().await.unwrap();
        assert_eq!(got.audience, Audience::User("u9".into()));
        assert!(rx.try_recv().is_err());
    }
}
