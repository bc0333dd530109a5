//! Live job updates: each instance's hub fans committed job events out to its WebSockets.
//!
//! A change is committed with its event first; then the hub hears "user U reached seq N"
//! (in-process on SQLite, through PostgreSQL LISTEN/NOTIFY across instances), reads the new
//! events once, serialises each once, and hands it to every socket of that user. Sockets keep
//! their own last sequence number and fill any gap from the database, so a lost notification
//! or a lagging socket costs a query, never an update.

mod hub;
mod listener;
pub mod sse;
pub mod stream;
pub mod ws;

pub use hub::{Frame, Realtime};
pub use listener::spawn_pg_listener;
