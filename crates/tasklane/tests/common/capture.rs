//! A `tracing` layer that records every span and event, and a runtime
//! builder, for the tests of what subscribers see (`observability.rs`,
//! `slow_poll.rs`).
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// Fields of a span or event, as strings (`&str` fields unquoted).
#[derive(Clone, Debug, Default)]
pub(crate) struct Fields(HashMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl Fields {
    pub(crate) fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct SpanRec {
    pub(crate) name: &'static str,
    pub(crate) fields: Fields,
    /// `name` field of the parent span (the task's name for a task span),
    /// or the parent span's own name if it has no such field.
    pub(crate) parent: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct EventRec {
    pub(crate) target: String,
    pub(crate) level: Level,
    pub(crate) fields: Fields,
    /// The `name` field of the span the event belongs to.
    pub(crate) span_task: Option<String>,
    pub(crate) thread: Option<String>,
}

#[derive(Clone, Default)]
pub(crate) struct Capture(Arc<Mutex<(Vec<SpanRec>, Vec<EventRec>)>>);

/// The task name a span stands for: its `name` field, else its own name.
fn label<S: for<'a> LookupSpan<'a>>(span: &tracing_subscriber::registry::SpanRef<'_, S>) -> String {
    let ext = span.extensions();
    ext.get::<Fields>()
        .and_then(|f| f.get("name").map(str::to_owned))
        .unwrap_or_else(|| span.name().to_owned())
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let span = ctx.span(id).expect("new span exists");
        let parent = span.parent().map(|p| label(&p));
        span.extensions_mut().insert(fields.clone());
        self.0.lock().unwrap().0.push(SpanRec {
            name: attrs.metadata().name(),
            fields,
            parent,
        });
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let span_task = ctx.event_span(event).map(|s| label(&s));
        self.0.lock().unwrap().1.push(EventRec {
            target: event.metadata().target().to_owned(),
            level: *event.metadata().level(),
            fields,
            span_task,
            thread: std::thread::current().name().map(str::to_owned),
        });
    }
}

impl Capture {
    pub(crate) fn spans(&self) -> Vec<SpanRec> {
        self.0.lock().unwrap().0.clone()
    }
    pub(crate) fn events(&self) -> Vec<EventRec> {
        self.0.lock().unwrap().1.clone()
    }
    /// Runs `f` with this capture as the thread's default subscriber.
    pub(crate) fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        let subscriber = tracing_subscriber::registry().with(self.clone());
        tracing::subscriber::with_default(subscriber, f)
    }
}

/// A runtime with `workers` workers and the given slow-poll threshold.
pub(crate) fn rt(workers: usize, threshold: Duration) -> tasklane::Runtime {
    tasklane::Builder::new()
        .worker_threads(workers)
        .slow_poll_threshold(threshold)
        .build()
        .unwrap()
}
