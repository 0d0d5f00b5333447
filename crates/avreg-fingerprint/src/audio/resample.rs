//! Placeholder, replaced next.
#[derive(Debug)]
pub(crate) struct Resampler;
impl Resampler {
    pub(crate) fn new(_: u32, _: u32) -> Self { Self }
    pub(crate) fn process(&mut self, _: &[f32], _: impl FnMut(&[f32])) {}
    pub(crate) fn finish(&mut self, _: impl FnMut(&[f32])) {}
}
