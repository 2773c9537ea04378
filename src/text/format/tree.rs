//! Nesting matched emphasis into a tree of spans, capped in depth.

use super::Inline;

/// Deeper emphasis is shown as literal markers. Real messages never need more, and the cap keeps the recursive
/// rendering, cloning, comparing and dropping of the tree safe from stack exhaustion on hostile input.
pub(super) const MAX_NESTING: usize = 8;

/// An open emphasis span, keeping its marker and width so that, if it never closes, it can be
/// written back as the text that was typed.
struct Frame {
    marker: char,
    width: usize,
    children: Vec<Inline>,
}

/// Spans being built: the open ones as a stack of frames over the finished root.
#[derive(Default)]
pub(super) struct TreeBuilder {
    root: Vec<Inline>,
    frames: Vec<Frame>,
    /// One entry per currently open match: whether it got a frame or was flattened to literal markers by
    /// `MAX_NESTING`, so its closing side is treated the same way.
    open_matches: Vec<bool>,
}

impl TreeBuilder {
    /// Where the next span goes: inside the innermost open one, or at the root.
    fn children(&mut self) -> &mut Vec<Inline> {
        match self.frames.last_mut() {
            Some(frame) => &mut frame.children,
            None => &mut self.root,
        }
    }

    pub(super) fn push(&mut self, inline: Inline) {
        // Text goes through `push_text` so that it merges with the text before it.
        match inline {
            Inline::Text(text) => self.push_text(&text),
            other => self.children().push(other),
        }
    }

    /// The text node new text merges into, so adjacent text always ends up in one node.
    fn text_tail(&mut self) -> Option<&mut String> {
        let children = self.children();
        if !matches!(children.last(), Some(Inline::Text(_))) {
            children.push(Inline::Text(String::new()));
        }
        match children.last_mut() {
            Some(Inline::Text(tail)) => Some(tail),
            _ => None,
        }
    }

    pub(super) fn push_text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if let Some(tail) = self.text_tail() {
            tail.push_str(text);
        }
    }

    /// Markers that did not become formatting are shown exactly as typed.
    pub(super) fn push_markers(&mut self, marker: char, count: usize) {
        if count == 0 {
            return;
        }
        if let Some(tail) = self.text_tail() {
            tail.extend(std::iter::repeat_n(marker, count));
        }
    }

    pub(super) fn open(&mut self, marker: char, width: usize) {
        if self.frames.len() < MAX_NESTING {
            self.frames.push(Frame { marker, width, children: Vec::new() });
            self.open_matches.push(true);
        } else {
            self.push_markers(marker, width);
            self.open_matches.push(false);
        }
    }

    pub(super) fn close(&mut self, marker: char, width: usize) {
        let frame = if self.open_matches.pop() == Some(true) { self.frames.pop() } else { None };
        match frame {
            Some(frame) => self.attach(frame),
            None => self.push_markers(marker, width),
        }
    }

    fn attach(&mut self, frame: Frame) {
        let Frame { marker, width, children } = frame;
        if children.is_empty() {
            // Cannot come out of the matcher, but an empty span would render as nothing, so show what was typed.
            self.push_markers(marker, width * 2);
        } else if width == 2 {
            self.push(Inline::Bold(children));
        } else {
            self.push(Inline::Italic(children));
        }
    }

    pub(super) fn finish(mut self) -> Vec<Inline> {
        // Every opening has a matching closing, so this only guards against a matcher bug losing text.
        while let Some(Frame { marker, width, children }) = self.frames.pop() {
            self.push_markers(marker, width);
            for child in children {
                self.push(child);
            }
        }
        self.root
    }
}
