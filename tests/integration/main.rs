//! Integration tests: real servers on ephemeral ports with temp-file databases, driven through their
//! public interfaces. One test binary instead of one per file, because each binary links the whole
//! server and its dependencies: fifteen of them cost minutes of linking and gigabytes of disk.

mod support;

mod admin;
mod changes;
mod chat;
mod cluster;
mod delivery;
mod drain;
mod export;
mod history;
mod hostile;
mod http_surface;
mod identity;
mod load;
mod mentions;
mod metrics;
mod moving;
mod pages;
mod proxies;
mod rooms;
mod search;
mod uploads;
