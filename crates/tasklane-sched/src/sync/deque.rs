//! The run queues: `crossbeam-deque`'s Chase–Lev work-stealing deque and
//! injector in normal builds; under loom a mutex-protected stand-in with the
//! same interface (see the module docs of `sync`).

#[cfg(not(tasklane_loom))]
pub(crate) use crossbeam_deque::{Injector, Steal, Stealer, Worker};

#[cfg(tasklane_loom)]
pub(crate) use crossbeam_deque::Steal;
#[cfg(tasklane_loom)]
pub(crate) use model::{Injector, Stealer, Worker};

#[cfg(tasklane_loom)]
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
        pub(crate) fn len(&self) -> usize {
            self.q.lock().len()
        }
    }

    fn take_batch<T>(src: &mut VecDeque<T>, dest: &Worker<T>) -> Steal<T> {
        let Some(first) = src.pop_front() else {
            return Steal::Empty;
        };
        let n = (src.len() / 2).min(BATCH);
        if n > 0 {
            let mut d = dest.q.lock();
            for _ in 0..n {
                if let Some(t) = src.pop_front() {
                    d.push_back(t);
                }
            }
        }
        Steal::Success(first)
    }

    impl<T> Stealer<T> {
        pub(crate) fn steal(&self) -> Steal<T> {
            match self.q.lock().pop_front() {
                Some(t) => Steal::Success(t),
                None => Steal::Empty,
            }
        }
        pub(crate) fn steal_batch_and_pop(&self, dest: &Worker<T>) -> Steal<T> {
            take_batch(&mut self.q.lock(), dest)
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
            take_batch(&mut self.q.lock(), dest)
        }
        pub(crate) fn is_empty(&self) -> bool {
            self.q.lock().is_empty()
        }
        pub(crate) fn len(&self) -> usize {
            self.q.lock().len()
        }
    }
}
