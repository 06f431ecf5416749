//! Subscriptions: catch up from storage, then follow commits live, in position order, with
//! no gap and no duplicate at the hand-over, optionally resuming from a durable checkpoint.

use ::core::cell::{Cell, RefCell};
use alloc::{collections::VecDeque, rc::Rc, string::String};

use super::backend::{Backend, Direction, PositionRange};
use super::error::Error;
use super::event::{validate_name, RecordedEvent};
use super::filter::Filter;
use super::read::validate_filter;
use super::store::{Store, PAGE_SIZE};

/// Where a subscription starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// After this position (0: from the beginning).
    After(u64),
    /// After the last position committed when the subscription is made.
    End,
}

/// How to subscribe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscribeOptions {
    /// Where to start when no checkpoint position is saved.
    pub start: Start,
    /// A durable name: resume after the position saved under it, and save as events are done.
    pub checkpoint: Option<String>,
    /// Which events to deliver.
    pub filter: Filter,
}

impl Default for SubscribeOptions {
    fn default() -> Self {
        SubscribeOptions {
            start: Start::After(0),
            checkpoint: None,
            filter: Filter::default(),
        }
    }
}

/// A live, ordered feed of the store's events. Clones are handles to one subscription, so
/// one can [`close`](Subscription::close) it while another waits in
/// [`next`](Subscription::next).
///
/// Holds at most one page of events: a slow consumer makes it go back to storage, never
/// buffer without bound.
#[derive(Debug)]
pub struct Subscription<B: Backend> {
    inner: Rc<Inner<B>>,
}

impl<B: Backend> Clone for Subscription<B> {
    fn clone(&self) -> Self {
        Subscription {
            inner: self.inner.clone(),
        }
    }
}

#[derive(Debug)]
struct Inner<B: Backend> {
    store: Rc<Store<B>>,
    filter: Filter,
    checkpoint: Option<String>,
    /// Whether the saved checkpoint was consulted yet.
    started: Cell<bool>,
    /// Every position up to this one was examined: delivered, buffered or filtered out.
    examined: Cell<u64>,
    /// The last position delivered (or the start).
    position: Cell<u64>,
    buffer: RefCell<VecDeque<RecordedEvent<B::Payload>>>,
    /// The event delivered last, which the consumer may still be working on.
    in_hand: Cell<Option<u64>>,
    /// The last event the consumer finished with, not yet saved to the checkpoint.
    unsaved: Cell<Option<u64>>,
    closed: Cell<bool>,
    busy: Cell<bool>,
}

impl<B: Backend> Subscription<B> {
    /// Subscribes to `store`. With [`Start::End`], the start is the last commit this context
    /// knows of now.
    pub fn new(store: Rc<Store<B>>, options: SubscribeOptions) -> Result<Self, Error> {
        store.ensure_open()?;
        validate_filter(&options.filter)?;
        if let Some(name) = &options.checkpoint {
            validate_name("checkpoint", name)?;
        }
        let start = match options.start {
            Start::After(p) => p,
            Start::End => store.known_head(),
        };
        Ok(Subscription {
            inner: Rc::new(Inner {
                started: Cell::new(options.checkpoint.is_none()),
                store,
                filter: options.filter,
                checkpoint: options.checkpoint,
                examined: Cell::new(start),
                position: Cell::new(start),
                buffer: RefCell::new(VecDeque::new()),
                in_hand: Cell::new(None),
                unsaved: Cell::new(None),
                closed: Cell::new(false),
                busy: Cell::new(false),
            }),
        })
    }

    /// The last position delivered; before the first delivery, the position the subscription
    /// starts after. With a checkpoint, that start is read from storage by the first
    /// [`next`](Subscription::next): until then it is the `start` the options gave.
    pub fn position(&self) -> u64 {
        self.inner.position.get()
    }

    /// The next event, waiting for one to be committed if need be; `None` once the
    /// subscription or its store is closed — except that a store closed by another context's
    /// schema upgrade makes it fail with [`Error::ClosedByUpgrade`], so that the consumer
    /// learns why its feed stopped.
    ///
    /// Calling it marks the event delivered before as done: its position is saved to the
    /// checkpoint before the subscription next goes to storage or waits.
    pub async fn next(&self) -> Result<Option<RecordedEvent<B::Payload>>, Error> {
        let inner = &*self.inner;
        if inner.busy.replace(true) {
            return Err(Error::invalid(
                "next",
                "called again before the previous call settled",
            ));
        }
        let result = self.next_inner().await;
        inner.busy.set(false);
        match result {
            Ok(Some(event)) => Ok(Some(event)),
            // Whatever was under way when the subscription or the store closed, it ends cleanly.
            _ if inner.closed.get() => Ok(None),
            _ if inner.store.is_closed() => match inner.store.ensure_open() {
                Err(Error::ClosedByUpgrade) => Err(Error::ClosedByUpgrade),
                _ => Ok(None),
            },
            result => result,
        }
    }

    /// The next event when one is already read and waiting, delivered exactly as
    /// [`next`](Subscription::next) would deliver it (marking the event before as done), but
    /// without yielding. `None` when `next` would have to read storage, wait for a commit, save
    /// a checkpoint first, or report the end: then call `next`.
    pub fn next_buffered(&self) -> Option<RecordedEvent<B::Payload>> {
        let inner = &*self.inner;
        if inner.busy.get() || !inner.started.get() || inner.closed.get() || inner.store.is_closed() {
            return None;
        }
        let event = inner.buffer.borrow_mut().pop_front()?;
        if let Some(done) = inner.in_hand.take() {
            inner.unsaved.set(Some(done));
        }
        Some(self.deliver(event))
    }

    fn deliver(&self, event: RecordedEvent<B::Payload>) -> RecordedEvent<B::Payload> {
        self.inner.position.set(event.position);
        self.inner.in_hand.set(Some(event.position));
        event
    }

    async fn next_inner(&self) -> Result<Option<RecordedEvent<B::Payload>>, Error> {
        let inner = &*self.inner;
        if let Some(done) = inner.in_hand.take() {
            inner.unsaved.set(Some(done));
        }
        loop {
            if inner.closed.get() || inner.store.is_closed() {
                return Ok(None);
            }
            if !inner.started.get() {
                if let Some(name) = &inner.checkpoint {
                    if let Some(saved) = inner.store.checkpoint(name).await? {
                        inner.examined.set(saved);
                        inner.position.set(saved);
                    }
                }
                inner.started.set(true);
                continue;
            }
            let buffered = inner.buffer.borrow_mut().pop_front();
            if let Some(event) = buffered {
                return Ok(Some(self.deliver(event)));
            }
            // Taken before anything that yields: a commit or a close that lands during the
            // checkpoint save or the read is not missed.
            let seq = inner.store.notifier.seq();
            self.save_checkpoint().await?;
            let page = inner
                .store
                .backend
                .read_all(
                    PositionRange::after(inner.examined.get()),
                    Direction::Forward,
                    PAGE_SIZE,
                    &inner.filter,
                )
                .await?;
            if let Some(last) = page.last_examined {
                inner.examined.set(last);
            }
            if page.events.is_empty() && page.exhausted {
                inner.store.notifier.changed(seq).await;
            }
            inner.buffer.borrow_mut().extend(page.events);
        }
    }

    /// Ends the subscription: a pending [`next`](Subscription::next) returns `None`, and the
    /// event in hand is not marked done. Completes once the events done before it are saved
    /// to the checkpoint.
    pub async fn close(&self) -> Result<(), Error> {
        let inner = &*self.inner;
        if !inner.closed.replace(true) {
            inner.store.notifier.wake_all();
            inner.buffer.borrow_mut().clear();
        }
        // Also on a second close: a save that failed the first time is tried again.
        if !inner.store.is_closed() {
            self.save_checkpoint().await?;
        }
        Ok(())
    }

    /// Saves the last finished position. On failure the position stays unsaved, for the next
    /// `next()` or `close()` to try again.
    async fn save_checkpoint(&self) -> Result<(), Error> {
        let inner = &*self.inner;
        if let (Some(name), Some(position)) = (&inner.checkpoint, inner.unsaved.take()) {
            if let Err(e) = inner.store.set_checkpoint(name, position).await {
                let newer = inner.unsaved.get().is_some_and(|p| p > position);
                if !newer {
                    inner.unsaved.set(Some(position));
                }
                return Err(e);
            }
        }
        Ok(())
    }
}
