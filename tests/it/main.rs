//! Integration tests: one binary. Servers run on 127.0.0.1:0 with a temp data dir and a manual clock.

// reason: test code fails loudly by design; children are killed and waited in the crash test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::zombie_processes
)]

mod api_accounts;
mod api_articles;
mod api_assets;
mod collab;
mod crash;
mod golden;
mod harness;
mod hub;
mod hub_files;
mod hub_instructions;
mod hub_review_share;
mod hub_search;
mod hub_support;
mod isolation;
mod isolation_federation;
mod layering;
mod openapi;
mod planning;
mod recovery;
mod replica;
mod review;
mod review_props;
mod screen;
mod screening;
mod search;
mod search_crash;
mod search_recall;
mod ui;
mod upgrade;
mod web;
