//! Group commit: appends issued concurrently in one context share one backend transaction,
//! each keeping its own check and its own outcome.
//!
//! The first append to arrive while no transaction is in flight leads: it commits everything
//! queued at that moment (often just itself). Appends that arrive meanwhile queue up, and when
//! the transaction completes the first of them leads the next one with all that queued. So
//! under load a transaction carries many appends, and when idle an append waits for nothing.

use alloc::{collections::VecDeque, format, rc::Rc, vec::Vec};
use ::core::cell::{Cell, RefCell};
use ::core::future::Future;
use ::core::pin::Pin;
use ::core::task::{Context, Poll, Waker};

use super::append::AppendRequest;
use super::backend::Backend;
use super::error::{Error, StorageError};
use super::event::AppendResult;
use super::notify::Notifier;

type Outcome = Result<AppendResult, Error>;

/// The appends waiting for a transaction, and whether one is in flight.
#[derive(Debug, Default)]
pub(crate) struct Group {
    queue: RefCell<VecDeque<(AppendRequest, Rc<Ticket>)>>,
    /// A leader exists: it is committing, or it was chosen and has yet to run.
    led: Cell<bool>,
}

/// One append's place in the group.
#[derive(Debug, Default)]
struct Ticket(RefCell<State>);

#[derive(Debug, Default)]
enum State {
    #[default]
    Queued,
    Waiting(Waker),
    /// Chosen to lead the next transaction.
    Lead,
    /// Leading it now.
    Leading,
    Done(Option<Outcome>),
}

impl Ticket {
    fn set(&self, state: State) {
        if let State::Waiting(waker) = self.0.replace(state) {
            waker.wake();
        }
    }
}

enum Turn {
    Lead,
    Done(Outcome),
}

impl Group {
    /// Appends `request` with whatever else is queued, and reports its own outcome.
    ///
    /// Dropping the future before its transaction starts cancels the append; after that the
    /// append commits or not as the transaction does, and the outcome is lost with the future.
    pub(crate) async fn append<B: Backend>(
        &self,
        backend: &B,
        notifier: &Notifier,
        open: &dyn Fn() -> Result<(), Error>,
        request: AppendRequest,
    ) -> Outcome {
        let outcome = self.append_all(backend, notifier, open, alloc::vec![request]).await.pop();
        outcome.unwrap_or_else(|| Err(Error::Storage(StorageError::other("the append's outcome is unknown"))))
    }

    /// Appends `requests`, queued together so that they share a transaction (with whatever
    /// else is queued), and reports each one's own outcome, in order.
    pub(crate) async fn append_all<B: Backend>(
        &self,
        backend: &B,
        notifier: &Notifier,
        open: &dyn Fn() -> Result<(), Error>,
        requests: Vec<AppendRequest>,
    ) -> Vec<Outcome> {
        let places: Vec<Place<'_>> = requests
            .into_iter()
            .map(|request| {
                let place = Place { group: self, ticket: Rc::new(Ticket::default()) };
                self.queue.borrow_mut().push_back((request, place.ticket.clone()));
                place
            })
            .collect();
        if let Some(first) = places.first() {
            if !self.led.replace(true) {
                first.ticket.set(State::Lead);
            }
        }
        let mut outcomes = Vec::with_capacity(places.len());
        for place in &places {
            loop {
                match (TurnFuture { ticket: &place.ticket }).await {
                    Turn::Done(outcome) => break outcomes.push(outcome),
                    Turn::Lead => self.commit(backend, notifier, open).await,
                }
            }
        }
        outcomes
    }

    /// Commits every queued append in one backend transaction, then hands the lead on.
    async fn commit<B: Backend>(&self, backend: &B, notifier: &Notifier, open: &dyn Fn() -> Result<(), Error>) {
        let (requests, tickets): (Vec<_>, Vec<_>) = self.queue.borrow_mut().drain(..).unzip();
        let mut batch = Batch { group: self, tickets, outcomes: None };
        if let Err(closed) = open() {
            batch.outcomes = Some(requests.iter().map(|_| Err(closed.clone())).collect());
            return;
        }
        let outcomes = match backend.append(&requests).await {
            Ok(outcomes) if outcomes.len() == requests.len() => outcomes,
            Ok(outcomes) => {
                let e = StorageError::other(format!(
                    "the backend reported {} outcomes for {} appends",
                    outcomes.len(),
                    requests.len()
                ));
                requests.iter().map(|_| Err(Error::Storage(e.clone()))).collect()
            }
            Err(e) => requests.iter().map(|_| Err(Error::Storage(e.clone()))).collect(),
        };
        if let Some(head) = outcomes.iter().flatten().map(|r| r.position).max() {
            notifier.advance(head);
        }
        batch.outcomes = Some(outcomes);
    }

    /// Chooses the next leader, or records that none is needed.
    fn hand_over(&self) {
        match self.queue.borrow().front() {
            Some((_, next)) => next.set(State::Lead),
            None => self.led.set(false),
        }
    }
}

/// The tickets of a transaction in flight. However the commit ends — completed, or its future
/// dropped — every ticket gets an outcome and the lead passes on.
struct Batch<'a> {
    group: &'a Group,
    tickets: Vec<Rc<Ticket>>,
    outcomes: Option<Vec<Outcome>>,
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        let mut outcomes = self.outcomes.take().map(Vec::into_iter);
        for ticket in &self.tickets {
            let outcome = outcomes.as_mut().and_then(Iterator::next).unwrap_or_else(|| {
                Err(Error::Storage(StorageError::other(
                    "the append's outcome is unknown: the future committing it was dropped",
                )))
            });
            ticket.set(State::Done(Some(outcome)));
        }
        self.group.hand_over();
    }
}

/// An append's hold on its ticket: dropped while queued, it cancels the append; dropped as
/// the chosen leader, it passes the lead on.
struct Place<'a> {
    group: &'a Group,
    ticket: Rc<Ticket>,
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        let state = ::core::mem::take(&mut *self.ticket.0.borrow_mut());
        match state {
            State::Queued | State::Waiting(_) => {
                self.group.queue.borrow_mut().retain(|(_, t)| !Rc::ptr_eq(t, &self.ticket));
            }
            State::Lead => self.group.hand_over(),
            State::Leading | State::Done(_) => {}
        }
    }
}

struct TurnFuture<'a> {
    ticket: &'a Ticket,
}

impl Future for TurnFuture<'_> {
    type Output = Turn;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Turn> {
        let mut state = self.ticket.0.borrow_mut();
        match &mut *state {
            State::Done(outcome) => Poll::Ready(Turn::Done(outcome.take().unwrap_or_else(|| {
                Err(Error::Storage(StorageError::other("the append's outcome was already taken")))
            }))),
            State::Lead => {
                *state = State::Leading;
                Poll::Ready(Turn::Lead)
            }
            State::Leading => Poll::Pending,
            State::Queued | State::Waiting(_) => {
                *state = State::Waiting(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
