//! The `tracing` subscriber handed from the thread that builds a runtime to
//! the runtime's threads, so spans and events of tasks reach it.

use std::cell::RefCell;
use tracing::Dispatch;
use tracing::dispatcher::DefaultGuard;

thread_local! {
    /// On runtime threads: the runtime's subscriber, kept as this thread's
    /// default until the thread ends.
    static DISPATCH: RefCell<Option<DefaultGuard>> = const { RefCell::new(None) };
}

/// The subscriber a runtime's threads use.
#[derive(Clone)]
pub(super) struct Subscriber(Option<Dispatch>);

impl Subscriber {
    /// The subscriber in effect on this thread (a scoped one, from
    /// `tracing::subscriber::with_default`, included). With none at all
    /// (`NoSubscriber`) the runtime's threads are left alone, so a global
    /// default set later is still seen.
    pub(super) fn current() -> Subscriber {
        Subscriber(tracing::dispatcher::get_default(|d| {
            (!d.is::<tracing::subscriber::NoSubscriber>()).then(|| d.clone())
        }))
    }

    /// Makes it this thread's default until [`release`](Self::release).
    pub(super) fn adopt(&self) {
        if let Some(d) = &self.0 {
            let guard = tracing::dispatcher::set_default(d);
            DISPATCH.with(|g| *g.borrow_mut() = Some(guard));
        }
    }

    /// Restores this thread's default from before [`adopt`](Self::adopt).
    pub(super) fn release() {
        DISPATCH.with(|g| g.borrow_mut().take());
    }
}
