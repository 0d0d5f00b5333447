//! Placeholder: the symphonia edge is being written.
