//! The integration tests of the decoding edge, in one binary: mutated
//! fixtures that must never unwind (audio and video), and the PDQ golden
//! pictures decoded with the `image` crate.

mod mutations;
mod pdq;
mod video_mutations;
