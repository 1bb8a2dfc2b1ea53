//! NEWS2 per bed: the latest input of each parameter, scoring, band alarms.
//!
//! Monitored metrics feed the chart rows (respiratory rate; SpO2; cuff or
//! arterial systolic pressure; pulse rate or ECG heart rate, whichever came
//! last; body temperature). Consciousness and air-or-oxygen come from staff
//! ([`ManualObservation`](super::ManualObservation)). Band alarms:
//! low-medium raises `news2_low_medium` (low priority), medium
//! `news2_medium` (medium), high `news2_high` (high, latching); a band change
//! clears the previous band's alarm and starts the new one, whose message is
//! the RCP clinical response. Band alarms wait for the band to persist
//! ([`super::news_band`]); the score itself is reported at once.

use std::sync::Arc;

use collector::Sample;
use firmware_adapters::Metric;

use super::bed::Change;
use super::news_band::BandDebounce;
use super::{EngineConfig, Meta};
use crate::news2::{self, Band, News2Input, Observed, Parameter};
use crate::notice::{AlarmClass, News2View};
use crate::rules::Priority;
use crate::time::Timestamp;

#[derive(Debug, Default)]
pub(super) struct BedNews {
    pub(super) input: News2Input,
    /// Total, band and completeness last reported, to report changes only.
    last: Option<(u8, Band, bool)>,
    /// The band whose alarm is started, if any.
    alarmed: Option<Band>,
    /// When the band has held long enough to alarm, or to stop alarming.
    debounce: BandDebounce,
}

/// The NEWS2 alarm rule of a band, if the band alarms.
pub(super) fn band_rule(band: Band) -> Option<(&'static str, Priority)> {
    match band {
        Band::Zero | Band::Low => None,
        Band::LowMedium => Some(("news2_low_medium", Priority::Low)),
        Band::Medium => Some(("news2_medium", Priority::Medium)),
        Band::High => Some(("news2_high", Priority::High)),
    }
}

impl BedNews {
    /// Takes a valid sample as a chart input; true when it is one.
    pub(super) fn observe(&mut self, s: &Sample) -> bool {
        let obs = Some(Observed::new(s.value, Timestamp::from_micros(s.time_us)));
        let slot = match s.metric {
            Metric::RespiratoryRate => &mut self.input.respiration_rate,
            Metric::Spo2 => &mut self.input.spo2,
            Metric::NibpSystolic | Metric::ArterialSystolic => &mut self.input.systolic_bp,
            Metric::PulseRate | Metric::HeartRate => &mut self.input.pulse,
            Metric::BodyTemperature => &mut self.input.temperature,
            _ => return false,
        };
        // An older sample (from a second device, or out of order) never
        // replaces a newer input.
        if slot.is_some_and(|o| o.at > Timestamp::from_micros(s.time_us)) {
            return false;
        }
        *slot = obs;
        true
    }

    /// Scores at `now`; reports a changed score and moves the band alarm.
    pub(super) fn rescore(
        &mut self,
        bed: &Arc<str>,
        now: Timestamp,
        cfg: &EngineConfig,
    ) -> Vec<Change> {
        let news = news2::score(&self.input, &cfg.news2, now);
        let mut out = Vec::new();
        let summary = (news.total(), news.band(), news.is_complete());
        if self.last != Some(summary) {
            self.last = Some(summary);
            let ages = self.ages(now);
            out.push(Change::News2(News2View::new(
                Arc::clone(bed),
                &news,
                ages,
                now.as_micros(),
            )));
        }
        let wanted = self.debounce.update(news.band(), now, &cfg.news2_alarms);
        if wanted != self.alarmed {
            if let Some((rule, _)) = self.alarmed.and_then(band_rule) {
                out.push(Change::Clear {
                    rule: rule.into(),
                    at: now,
                });
            }
            if let Some((band, (rule, priority))) = wanted.and_then(|b| Some((b, band_rule(b)?))) {
                out.push(Change::Start {
                    rule: rule.into(),
                    priority,
                    meta: Meta {
                        class: AlarmClass::News2,
                        metric: None,
                        value: Some(f64::from(news.total())),
                        message: format!(
                            "NEWS2 {} ({} clinical risk): {}",
                            news.total(),
                            band.clinical_risk(),
                            band.clinical_response()
                        )
                        .into(),
                    },
                    at: now,
                });
            }
            self.alarmed = wanted;
        }
        out
    }

    /// The age in seconds of each chart input, in chart order.
    pub(super) fn ages(&self, now: Timestamp) -> [Option<f64>; 7] {
        let i = &self.input;
        let age = |at: Option<Timestamp>| at.map(|t| now.saturating_since(t).as_secs_f64());
        Parameter::ALL.map(|p| {
            age(match p {
                Parameter::RespirationRate => i.respiration_rate.map(|o| o.at),
                Parameter::Spo2 => i.spo2.map(|o| o.at),
                Parameter::Oxygen => i.oxygen.map(|o| o.at),
                Parameter::SystolicBp => i.systolic_bp.map(|o| o.at),
                Parameter::Pulse => i.pulse.map(|o| o.at),
                Parameter::Consciousness => i.consciousness.map(|o| o.at),
                Parameter::Temperature => i.temperature.map(|o| o.at),
            })
        })
    }

    /// The current view, whether or not it changed.
    pub(super) fn view(&self, bed: &Arc<str>, now: Timestamp, cfg: &EngineConfig) -> News2View {
        let news = news2::score(&self.input, &cfg.news2, now);
        News2View::new(Arc::clone(bed), &news, self.ages(now), now.as_micros())
    }
}
