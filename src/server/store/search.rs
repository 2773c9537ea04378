//! What a search asks the store for and gets back. Apart from the trait because the query parser
//! (`server::search`) builds the filter and each engine turns it into its own full-text syntax.

use crate::protocol::{ChatMessage, Room};

/// What to look for, as the store needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchFilter {
    /// The words, prefixes and phrases, all of which must match; none when the search is filters only.
    pub terms: Vec<SearchTerm>,
    /// The author's nickname key (`from:`).
    pub author_key: Option<String>,
    /// A room's name (`in:`).
    pub room: Option<String>,
    /// Only messages with a file (`has:file`).
    pub has_file: bool,
    /// Only messages stored before this instant (`before:`, midnight UTC starting that day).
    pub sent_before: Option<i64>,
    /// Only messages stored from this instant on (`after:`, midnight UTC ending that day).
    pub sent_from: Option<i64>,
}

/// One thing a search looks for in a message's text, as the user typed it (never query syntax).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchTerm {
    Word(String),
    /// `deplo*`: words starting with this.
    Prefix(String),
    /// `"ship it"`: these words, in this order.
    Phrase(String),
}

/// A search result as stored: the message, its room as the searcher sees it, and the marked snippet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub message: ChatMessage,
    pub room: Room,
    pub marked: String,
}
