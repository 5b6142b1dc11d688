//! The DynamoDB conversation and desk store. The table design is written down in
//! `docs/table-design.md`; `keys` holds the key formats.

mod analytics;
mod desk;
mod error;
pub mod expiry;
pub mod items;
pub mod keys;
mod live;
pub mod outbox;
mod protection;
mod store;
mod table;

pub use store::DynamoStore;
pub use table::create_table;
