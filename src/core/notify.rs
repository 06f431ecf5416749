//! Fan-out of commits to waiting subscriptions, within one JavaScript context (or thread).

use ::core::cell::RefCell;
use ::core::future::Future;
use ::core::pin::Pin;
use ::core::task::{Context, Poll, Waker};
use alloc::{rc::Rc, vec::Vec};

/// The last committed position this context knows of, and who waits for it to move.
/// Clones share one state.
#[derive(Clone, Debug, Default)]
pub struct Notifier(Rc<RefCell<State>>);

#[derive(Debug, Default)]
struct State {
    head: u64,
    /// Moves on every advance and every wake, so a waiter never misses one.
    seq: u64,
    wakers: Vec<Waker>,
}

impl Notifier {
    /// A notifier that knows of commits up to `head`.
    pub fn new(head: u64) -> Self {
        Notifier(Rc::new(RefCell::new(State {
            head,
            ..State::default()
        })))
    }

    /// The highest committed position reported so far.
    pub fn head(&self) -> u64 {
        self.0.borrow().head
    }

    /// A token for [`Notifier::changed`]: take it before reading storage.
    pub fn seq(&self) -> u64 {
        self.0.borrow().seq
    }

    /// Reports a commit up to `position` and wakes every waiter when it is news.
    pub fn advance(&self, position: u64) {
        let mut state = self.0.borrow_mut();
        if position > state.head {
            state.head = position;
            Self::wake(state);
        }
    }

    /// Wakes every waiter, for them to look at their own state (closed, aborted).
    pub fn wake_all(&self) {
        Self::wake(self.0.borrow_mut());
    }

    fn wake(mut state: ::core::cell::RefMut<'_, State>) {
        state.seq += 1;
        let wakers = ::core::mem::take(&mut state.wakers);
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Completes once anything was reported after `seq` was taken.
    pub fn changed(&self, seq: u64) -> Changed {
        Changed {
            notifier: self.clone(),
            seq,
        }
    }
}

/// The future of [`Notifier::changed`].
#[derive(Debug)]
#[must_use = "a future does nothing unless awaited"]
pub struct Changed {
    notifier: Notifier,
    seq: u64,
}

impl Future for Changed {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.notifier.0.borrow_mut();
        if state.seq != self.seq {
            return Poll::Ready(());
        }
        if !state.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            state.wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}
