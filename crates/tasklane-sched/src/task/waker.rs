//! Wakers: a task pointer plus one static vtable for every task type. A
//! counted waker holds one task reference; the poller's borrowed waker holds
//! none (the poller's own reference covers it).

use super::header::Header;
use super::state::ToNotified;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

static WAKER_VTABLE: RawWakerVTable =
    RawWakerVTable::new(clone_waker, wake_by_val, wake_by_ref, drop_waker);

/// A waker for `ptr` that does not own a reference.
///
/// # Safety
/// The caller keeps a reference to the task for as long as the returned
/// waker is used, and must not drop it (wrap it in `ManuallyDrop`).
pub(super) unsafe fn borrowed(ptr: NonNull<Header>) -> Waker {
    // SAFETY: the data pointer is a live task header and the vtable's
    // functions expect exactly that; see the contract above.
    unsafe { Waker::from_raw(RawWaker::new(ptr.as_ptr() as *const (), &WAKER_VTABLE)) }
}

/// # Safety
/// `data` is the header pointer stored by `borrowed` or `clone_waker`.
unsafe fn header<'a>(data: *const ()) -> (NonNull<Header>, &'a Header) {
    // SAFETY: wakers only ever carry a non-null header pointer.
    let ptr = unsafe { NonNull::new_unchecked(data as *mut Header) };
    // SAFETY: the waker's reference keeps the task alive while the returned
    // borrow is used; each caller stops using it before releasing that
    // reference (or handing it to `dealloc`).
    (ptr, unsafe { &*ptr.as_ptr() })
}

unsafe fn clone_waker(data: *const ()) -> RawWaker {
    // SAFETY: called on a live waker, which carries a header pointer.
    let (_, h) = unsafe { header(data) };
    h.state.ref_inc();
    RawWaker::new(data, &WAKER_VTABLE)
}

unsafe fn wake_by_val(data: *const ()) {
    // SAFETY: called on a live, counted waker, which it consumes.
    let (ptr, h) = unsafe { header(data) };
    match h.state.transition_to_notified_by_val() {
        ToNotified::DoNothing => {}
        ToNotified::Submit => {
            // SAFETY: the transition took a reference for the Notified; ours
            // keeps the task alive through the call and is released after.
            unsafe { (h.vtable.schedule)(ptr) };
            if h.state.ref_dec(1) {
                // SAFETY: ours was the last reference.
                unsafe { (h.vtable.dealloc)(ptr) };
            }
        }
        // SAFETY: ours was the last reference.
        ToNotified::Dealloc => unsafe { (h.vtable.dealloc)(ptr) },
    }
}

unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: called on a live waker.
    let (ptr, h) = unsafe { header(data) };
    match h.state.transition_to_notified_by_ref() {
        // SAFETY: the transition added the reference the Notified owns, and
        // the caller's waker keeps the task alive through the call.
        ToNotified::Submit => unsafe { (h.vtable.schedule)(ptr) },
        ToNotified::DoNothing | ToNotified::Dealloc => {}
    }
}

unsafe fn drop_waker(data: *const ()) {
    // SAFETY: called on a live, counted waker, which it consumes.
    let (ptr, h) = unsafe { header(data) };
    if h.state.ref_dec(1) {
        // SAFETY: ours was the last reference.
        unsafe { (h.vtable.dealloc)(ptr) };
    }
}
