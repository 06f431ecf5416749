//! Paged reads: of one stream by version, and of the global order by position.

use alloc::{collections::VecDeque, rc::Rc, string::String, vec::Vec};

use super::backend::{Backend, Direction, PositionRange};
use super::error::Error;
use super::event::{validate_name, RecordedEvent};
use super::filter::Filter;
use super::store::{Store, PAGE_SIZE};

/// How to read one stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadStreamOptions {
    /// The first version yielded (inclusive). Default: 1 forward, the last version backward.
    pub from_version: Option<u64>,
    /// Oldest first or newest first.
    pub direction: Direction,
    /// At most this many events. Default: no cap.
    pub limit: Option<u64>,
}

/// How to read the global order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadAllOptions {
    /// Only events with a position above this (0: all).
    pub after: u64,
    /// Oldest first or newest first.
    pub direction: Direction,
    /// At most this many events. Default: no cap.
    pub limit: Option<u64>,
    /// Which events to yield.
    pub filter: Filter,
}

pub(crate) fn validate_filter(filter: &Filter) -> Result<(), Error> {
    for (field, names) in [("types", &filter.types), ("streams", &filter.streams)] {
        let Some(names) = names else { continue };
        if names.is_empty() {
            return Err(Error::invalid(field, "must name at least one"));
        }
        for (i, name) in names.iter().enumerate() {
            validate_name(&alloc::format!("{field}[{i}]"), name)?;
        }
    }
    if let Some(prefix) = &filter.stream_prefix {
        validate_name("streamPrefix", prefix)?;
    }
    Ok(())
}

/// A read of one stream, a page at a time. Holds at most one page, and what a backend handed
/// over beyond it (the rest of a stored record), which the next pages take first.
#[derive(Debug)]
pub struct StreamReader<B: Backend> {
    store: Rc<Store<B>>,
    surplus: VecDeque<RecordedEvent<B::Payload>>,
    stream: String,
    /// The next version to read.
    next: u64,
    direction: Direction,
    remaining: u64,
    done: bool,
}

impl<B: Backend> StreamReader<B> {
    /// A reader of `stream`; nothing is read until [`StreamReader::next_page`].
    pub fn new(
        store: Rc<Store<B>>,
        stream: &str,
        options: ReadStreamOptions,
    ) -> Result<Self, Error> {
        store.ensure_open()?;
        validate_name("stream", stream)?;
        let next = match options.direction {
            Direction::Forward => options.from_version.unwrap_or(1).max(1),
            Direction::Backward => options.from_version.unwrap_or(u64::MAX),
        };
        let remaining = options.limit.unwrap_or(u64::MAX);
        Ok(StreamReader {
            store,
            surplus: VecDeque::new(),
            stream: stream.into(),
            next,
            direction: options.direction,
            remaining,
            done: remaining == 0 || next == 0,
        })
    }

    /// The next page (at most [`PAGE_SIZE`] events), in order; empty once the read is over.
    pub async fn next_page(&mut self) -> Result<Vec<RecordedEvent<B::Payload>>, Error> {
        if self.done && self.surplus.is_empty() {
            return Ok(Vec::new());
        }
        self.store.ensure_open()?;
        if !self.surplus.is_empty() {
            return Ok(take_page(&mut self.surplus));
        }
        let want = (PAGE_SIZE as u64).min(self.remaining) as usize;
        let mut page = self
            .store
            .backend
            .read_stream(&self.stream, self.next, self.direction, want)
            .await?;
        // A backend may hand over more than asked (whole records): what is past the cap goes,
        // what is past the page waits in `surplus`.
        page.truncate(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        self.remaining -= page.len() as u64;
        match (page.last(), self.direction) {
            (Some(last), Direction::Forward) => self.next = last.version + 1,
            (Some(last), Direction::Backward) => self.next = last.version - 1,
            (None, _) => {}
        }
        self.done = page.len() < want || self.remaining == 0 || self.next == 0;
        self.surplus.extend(page.drain(PAGE_SIZE.min(page.len())..));
        Ok(page)
    }
}

/// The first [`PAGE_SIZE`] events of `surplus`.
fn take_page<P>(surplus: &mut VecDeque<RecordedEvent<P>>) -> Vec<RecordedEvent<P>> {
    let n = PAGE_SIZE.min(surplus.len());
    surplus.drain(..n).collect()
}

/// A read of the global order, a page at a time. Holds at most one page.
#[derive(Debug)]
pub struct AllReader<B: Backend> {
    store: Rc<Store<B>>,
    surplus: VecDeque<RecordedEvent<B::Payload>>,
    range: PositionRange,
    direction: Direction,
    remaining: u64,
    filter: Filter,
    done: bool,
}

impl<B: Backend> AllReader<B> {
    /// A reader of the global order; nothing is read until [`AllReader::next_page`].
    pub fn new(store: Rc<Store<B>>, options: ReadAllOptions) -> Result<Self, Error> {
        store.ensure_open()?;
        validate_filter(&options.filter)?;
        let remaining = options.limit.unwrap_or(u64::MAX);
        Ok(AllReader {
            store,
            surplus: VecDeque::new(),
            range: PositionRange::after(options.after),
            direction: options.direction,
            remaining,
            filter: options.filter,
            done: remaining == 0,
        })
    }

    /// The next page of matching events (at most [`PAGE_SIZE`]), in order; empty once the
    /// read is over.
    pub async fn next_page(&mut self) -> Result<Vec<RecordedEvent<B::Payload>>, Error> {
        if !self.surplus.is_empty() {
            self.store.ensure_open()?;
            return Ok(take_page(&mut self.surplus));
        }
        while !self.done {
            self.store.ensure_open()?;
            let want = (PAGE_SIZE as u64).min(self.remaining) as usize;
            let mut page = self
                .store
                .backend
                .read_all(self.range, self.direction, want, &self.filter)
                .await?;
            match (page.last_examined, self.direction) {
                (Some(p), Direction::Forward) => self.range.after = p,
                (Some(p), Direction::Backward) => self.range.before = p,
                (None, _) => {}
            }
            if page.events.len() as u64 >= self.remaining {
                // The cap is reached (a backend may examine whole records): the read ends.
                page.events.truncate(self.remaining as usize);
                page.exhausted = true;
            }
            self.remaining -= page.events.len() as u64;
            self.done = page.exhausted || page.last_examined.is_none() || self.remaining == 0;
            if !page.events.is_empty() {
                let mut events = page.events;
                self.surplus.extend(events.drain(PAGE_SIZE.min(events.len())..));
                return Ok(events);
            }
        }
        Ok(Vec::new())
    }
}
