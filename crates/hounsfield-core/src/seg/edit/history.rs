//! The undo/redo stack of a segmentation: a bounded list of [`Edit`]s.

use std::collections::VecDeque;

use super::{Change, Edit, EditError, VoxelChange};
use crate::seg::Segmentation;

/// Undo steps kept by [`EditHistory::default`].
pub const DEFAULT_CAPACITY: usize = 100;

/// Undo and redo stacks of edits, the oldest step dropped beyond the
/// capacity. The history does not own the segmentation: every call that
/// changes it takes it, and the edits must have been applied to it in order
/// (use [`EditHistory::commit`], or [`Edit::apply`] then
/// [`EditHistory::push`]).
#[derive(Clone, Debug, PartialEq)]
pub struct EditHistory {
    /// Done steps, oldest first.
    undo: VecDeque<Edit>,
    /// Undone steps, the next to redo last.
    redo: Vec<Edit>,
    /// Maximum number of undo steps.
    capacity: usize,
}

impl Default for EditHistory {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl EditHistory {
    /// An empty history keeping up to `capacity` undo steps (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            undo: VecDeque::new(),
            redo: Vec::new(),
            capacity: capacity.max(1),
        }
    }

    /// Maximum number of undo steps.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Records an edit that has been applied. Clears the redo stack and drops
    /// the oldest step beyond the capacity. An empty edit is not recorded.
    pub fn push(&mut self, edit: Edit) {
        if edit.is_empty() {
            return;
        }
        self.redo.clear();
        self.undo.push_back(edit);
        while self.undo.len() > self.capacity {
            self.undo.pop_front();
        }
    }

    /// Applies an edit to the segmentation and records it. On error nothing
    /// changes.
    pub fn commit(&mut self, seg: &mut Segmentation, edit: Edit) -> Result<(), EditError> {
        edit.apply(seg)?;
        self.push(edit);
        Ok(())
    }

    /// Adds an applied voxel change to the last step (the next dab of a
    /// stroke, see [`Edit::add`]) and clears the redo stack. Returns `false`
    /// (and records nothing) when there is no step to add to.
    pub fn merge_into_last(&mut self, change: VoxelChange) -> bool {
        let Some(last) = self.undo.back_mut() else {
            return false;
        };
        if !change.is_empty() {
            self.redo.clear();
            last.add(Change::Voxels(change));
        }
        true
    }

    /// Undoes the last step; returns its description, or `None` when there
    /// is nothing to undo. On error (the segmentation was changed outside the
    /// history) nothing changes and the step stays.
    pub fn undo(&mut self, seg: &mut Segmentation) -> Result<Option<String>, EditError> {
        let Some(edit) = self.undo.pop_back() else {
            return Ok(None);
        };
        if let Err(e) = edit.revert(seg) {
            self.undo.push_back(edit);
            return Err(e);
        }
        let description = edit.description.clone();
        self.redo.push(edit);
        Ok(Some(description))
    }

    /// Redoes the last undone step; returns its description, or `None` when
    /// there is nothing to redo. On error nothing changes and the step stays.
    pub fn redo(&mut self, seg: &mut Segmentation) -> Result<Option<String>, EditError> {
        let Some(edit) = self.redo.pop() else {
            return Ok(None);
        };
        if let Err(e) = edit.apply(seg) {
            self.redo.push(edit);
            return Err(e);
        }
        let description = edit.description.clone();
        self.undo.push_back(edit);
        Ok(Some(description))
    }

    /// Whether there is a step to undo.
    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    /// Whether there is a step to redo.
    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// Number of steps that can be undone.
    pub fn undo_len(&self) -> usize {
        self.undo.len()
    }

    /// Number of steps that can be redone.
    pub fn redo_len(&self) -> usize {
        self.redo.len()
    }

    /// Description of the step [`Self::undo`] would undo.
    pub fn undo_description(&self) -> Option<&str> {
        self.undo.back().map(|e| e.description.as_str())
    }

    /// Description of the step [`Self::redo`] would redo.
    pub fn redo_description(&self) -> Option<&str> {
        self.redo.last().map(|e| e.description.as_str())
    }

    /// Forgets every step (e.g. when another segmentation is loaded).
    pub fn clear(&mut self) {
        self.undo.clear();
        self.redo.clear();
    }

    /// Bytes of payload the history holds: 8 per run, the masks of deleted
    /// segments, labels and descriptions (not the fixed bookkeeping of about
    /// a hundred bytes per step).
    pub fn bytes(&self) -> usize {
        self.undo.iter().chain(&self.redo).map(Edit::bytes).sum()
    }
}
