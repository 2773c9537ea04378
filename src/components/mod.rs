//! The page's components, grouped by area; one component (with its small helpers) a file.
//!
//! Every component renders twice: on the server into the first HTML, and in the browser, where
//! hydration adopts that HTML. So what a component draws first may depend only on what both
//! builds know (the page's data, never `localStorage`, the clock's zone or the window's size);
//! anything the browser alone knows is read in an effect, which runs only after hydration. They
//! read `ChatState` from context, call its methods or server functions, and never touch the
//! socket; DOM calls go through `dom`, which is inert on the server.

pub mod account;
pub mod common;
pub mod conversation;
pub mod rooms;
