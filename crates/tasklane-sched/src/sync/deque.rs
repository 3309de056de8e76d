//! The run queues: `crossbeam-deque`'s Chase–Lev work-stealing deque and
//! injector in normal builds; under loom and under miri a mutex-protected
//! stand-in with the same interface (see the module docs of `sync`).
//!
//! Miri: crossbeam-epoch (inside crossbeam-deque) breaks Stacked Borrows
//! though not Tree Borrows (crossbeam issue 545), so under miri the stand-in
//! lets the scheduler's own code be checked with the stricter model.

#[cfg(not(any(tasklane_loom, miri)))]
pub(crate) use crossbeam_deque::{Injector, Steal, Stealer, Worker};

#[cfg(any(tasklane_loom, miri))]
pub(crate) use crossbeam_deque::Steal;
#[cfg(any(tasklane_loom, miri))]
pub(crate) use model::{Injector, Stealer, Worker};

#[cfg(any(tasklane_loom, miri))]
mod model {
    use super::Steal;
    use crate::sync::{Arc, Mutex};
    use std::collections::VecDeque;

    /// How many tasks one batch steal moves: small, to keep models small.
    const BATCH: usize = 2;

    #[derive(Debug)]
    pub(crate) struct Worker<T> {
        q: Arc<Mutex<VecDeque<T>>>,
    }

    #[derive(Debug)]
    pub(crate) struct Stealer<T> {
        q: Arc<Mutex<VecDeque<T>>>,
    }

    #[derive(Debug)]
    pub(crate) struct Injector<T> {
        q: Mutex<VecDeque<T>>,
    }

    impl<T> Worker<T> {
        pub(crate) fn new_fifo() -> Self {
            Self {
                q: Arc::new(Mutex::new(VecDeque::new())),
            }
        }
        pub(crate) fn stealer(&self) -> Stealer<T> {
            Stealer { q: self.q.clone() }
        }
        pub(crate) fn push(&self, t: T) {
            self.q.lock().push_back(t);
        }
        pub(crate) fn pop(&self) -> Option<T> {
            self.q.lock().pop_front()
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.q.lock().is_empty()
        }
    }

    /// Pops one task for the caller and moves up to [`BATCH`] more into
    /// `dest`. The source lock is released before `dest` is locked: two
    /// workers stealing from each other must not lock the two queues in
    /// opposite orders (crossbeam's lock-free steal has no such order).
    fn take_batch<T>(src: &Mutex<VecDeque<T>>, dest: &Worker<T>) -> Steal<T> {
        let (first, batch) = {
            let mut src = src.lock();
            let Some(first) = src.pop_front() else {
                return Steal::Empty;
            };
            let n = (src.len() / 2).min(BATCH);
            (first, src.drain(..n).collect::<Vec<T>>())
        };
        if !batch.is_empty() {
            dest.q.lock().extend(batch);
        }
        Steal::Success(first)
    }

    impl<T> Stealer<T> {
        pub(crate) fn steal_batch_and_pop(&self, dest: &Worker<T>) -> Steal<T> {
            take_batch(&self.q, dest)
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.q.lock().is_empty()
        }
        pub(crate) fn len(&self) -> usize {
            self.q.lock().len()
        }
    }

    impl<T> Injector<T> {
        pub(crate) fn new() -> Self {
            Self {
                q: Mutex::new(VecDeque::new()),
            }
        }
        pub(crate) fn push(&self, t: T) {
            self.q.lock().push_back(t);
        }
        pub(crate) fn steal(&self) -> Steal<T> {
            match self.q.lock().pop_front() {
                Some(t) => Steal::Success(t),
                None => Steal::Empty,
            }
        }
        pub(crate) fn steal_batch_and_pop(&self, dest: &Worker<T>) -> Steal<T> {
            take_batch(&self.q, dest)
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.q.lock().is_empty()
        }
        pub(crate) fn len(&self) -> usize {
            self.q.lock().len()
        }
    }
}
