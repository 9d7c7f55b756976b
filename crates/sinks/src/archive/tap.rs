//! The runner's own warnings and errors as records, for CloudWatch Logs: a `tracing` layer,
//! made before logging starts and handed the Logs sink once it is open.

use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use super::Archive;

/// A layer that sends WARN and ERROR events to the archives attached to it.
#[derive(Clone, Default)]
pub struct WarningTap {
    sinks: Arc<Mutex<Vec<Arc<Archive>>>>,
}

impl WarningTap {
    /// From now on, warnings also go to `archive`.
    pub fn attach(&self, archive: Arc<Archive>) {
        self.lock().push(archive);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Archive>>> {
        self.sinks.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<S: Subscriber> Layer<S> for WarningTap {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        // The archive's own complaints stay out: writing them could fail and complain again.
        if *meta.level() > Level::WARN || meta.target().starts_with("canary::archive") {
            return;
        }
        let sinks = self.lock();
        if sinks.is_empty() {
            return;
        }
        let mut fields = Fields(Map::new());
        event.record(&mut fields);
        for a in sinks.iter() {
            a.log(meta.level().as_str(), &fields.0);
        }
    }
}

/// An event's fields as JSON.
struct Fields(Map<String, Value>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), Value::from(format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_string(), Value::from(value));
    }
}
