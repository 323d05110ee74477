//! The input gate of a task: over all input channels, it aligns checkpoint barriers, computes
//! the input watermark as the minimum over channels, and detects the end of input. It is pure
//! bookkeeping; the task loop in [`task`](crate::task) does the receiving.

use flinkrs_core::{CheckpointBarrier, CheckpointId, Watermark, WatermarkStatus};

#[derive(Clone, Copy, Debug)]
struct ChannelState {
    watermark: i64,
    idle: bool,
    ended: bool,
    /// The channel delivered the barrier of the checkpoint being aligned: read no more from
    /// it until the others have too.
    blocked: bool,
}

/// Watermark and alignment bookkeeping over a task's input channels, free of I/O so it can be
/// tested on its own.
#[derive(Debug)]
pub struct GateState {
    channels: Vec<ChannelState>,
    emitted_watermark: i64,
    all_idle: bool,
    pending_barrier: Option<CheckpointBarrier>,
    /// Barriers of this checkpoint and older ones are ignored: they were aborted, or a newer
    /// checkpoint overtook them.
    abandoned_up_to: Option<CheckpointId>,
}

/// What the gate tells the task to do after an element.
#[derive(Debug, PartialEq)]
pub enum GateAction {
    Nothing,
    Watermark(Watermark),
    Status(WatermarkStatus),
    /// The barrier has arrived on every live channel: snapshot now.
    BarrierAligned(CheckpointBarrier),
    EndOfInput,
}

impl GateState {
    pub fn new(channels: usize) -> Self {
        GateState {
            channels: vec![
                ChannelState {
                    watermark: i64::MIN,
                    idle: false,
                    ended: false,
                    blocked: false
                };
                channels
            ],
            emitted_watermark: i64::MIN,
            all_idle: false,
            pending_barrier: None,
            abandoned_up_to: None,
        }
    }

    /// Whether records of `channel` may be read now.
    pub fn is_readable(&self, channel: usize) -> bool {
        let state = &self.channels[channel];
        !state.ended && !state.blocked
    }

    fn advance_watermark(&mut self) -> GateAction {
        let live = self.channels.iter().filter(|c| !c.idle && !c.ended);
        let minimum = live.map(|c| c.watermark).min();
        let candidate = match minimum {
            Some(minimum) => minimum,
            // Every channel ended: the largest watermark any of them reached.
            None if self.channels.iter().all(|c| c.ended) => self
                .channels
                .iter()
                .map(|c| c.watermark)
                .max()
                .unwrap_or(i64::MIN),
            None => return GateAction::Nothing,
        };
        if candidate > self.emitted_watermark {
            self.emitted_watermark = candidate;
            GateAction::Watermark(Watermark(candidate))
        } else {
            GateAction::Nothing
        }
    }

    /// A watermark also marks its channel active again, as Flink's `WatermarkOutput` defines;
    /// if the gate had reported all inputs idle, it reports them active before time moves.
    pub fn on_watermark(&mut self, channel: usize, watermark: Watermark) -> Vec<GateAction> {
        let state = &mut self.channels[channel];
        state.watermark = state.watermark.max(watermark.0);
        state.idle = false;
        let mut actions = Vec::with_capacity(2);
        if self.all_idle {
            self.all_idle = false;
            actions.push(GateAction::Status(WatermarkStatus::Active));
        }
        actions.push(self.advance_watermark());
        actions.retain(|a| *a != GateAction::Nothing);
        actions
    }

    pub fn on_status(&mut self, channel: usize, status: WatermarkStatus) -> Vec<GateAction> {
        self.channels[channel].idle = status == WatermarkStatus::Idle;
        let now_all_idle = self.every_channel_idle_or_ended();
        if now_all_idle == self.all_idle {
            // One channel going idle may release the watermark held back by it.
            return vec![self.advance_watermark()];
        }
        if !now_all_idle {
            self.all_idle = false;
            return vec![GateAction::Status(WatermarkStatus::Active)];
        }
        self.turn_idle()
    }

    /// No live channel is left to carry time. An ended channel never sends a watermark again,
    /// so, like an idle one, it holds nothing back.
    fn every_channel_idle_or_ended(&self) -> bool {
        self.channels.iter().all(|c| c.idle || c.ended)
    }

    /// Every input is idle: as Flink's StatusWatermarkValve, first let time advance to the
    /// largest watermark any channel reached, then report idleness.
    fn turn_idle(&mut self) -> Vec<GateAction> {
        self.all_idle = true;
        let largest = self
            .channels
            .iter()
            .map(|c| c.watermark)
            .max()
            .unwrap_or(i64::MIN);
        let mut actions = Vec::with_capacity(2);
        if largest > self.emitted_watermark {
            self.emitted_watermark = largest;
            actions.push(GateAction::Watermark(Watermark(largest)));
        }
        actions.push(GateAction::Status(WatermarkStatus::Idle));
        actions
    }

    /// A barrier arrived on `channel`. A barrier of an abandoned checkpoint is dropped; one of
    /// a newer checkpoint than the one being aligned abandons that one, as Flink's aligner
    /// does, and starts aligning its own.
    pub fn on_barrier(&mut self, channel: usize, barrier: CheckpointBarrier) -> GateAction {
        if self
            .abandoned_up_to
            .is_some_and(|abandoned| barrier.id <= abandoned)
        {
            return GateAction::Nothing;
        }
        match self.pending_barrier {
            Some(pending) if pending.id > barrier.id => return GateAction::Nothing,
            Some(pending) if pending.id < barrier.id => self.abandon(pending.id),
            _ => {}
        }
        self.channels[channel].blocked = true;
        self.pending_barrier = Some(barrier);
        self.check_aligned()
    }

    /// The checkpoint was aborted (its timeout passed, or another task declined it): stop
    /// aligning it, so the blocked channels are read again, and drop its later barriers.
    pub fn on_checkpoint_aborted(&mut self, checkpoint: CheckpointId) {
        if self
            .pending_barrier
            .is_some_and(|pending| pending.id <= checkpoint)
        {
            self.pending_barrier = None;
            for channel in &mut self.channels {
                channel.blocked = false;
            }
        }
        self.abandoned_up_to = self.abandoned_up_to.max(Some(checkpoint));
    }

    fn abandon(&mut self, checkpoint: CheckpointId) {
        self.on_checkpoint_aborted(checkpoint);
    }

    fn check_aligned(&mut self) -> GateAction {
        let Some(barrier) = self.pending_barrier else {
            return GateAction::Nothing;
        };
        if self.channels.iter().all(|c| c.blocked || c.ended) {
            for channel in &mut self.channels {
                channel.blocked = false;
            }
            self.pending_barrier = None;
            GateAction::BarrierAligned(barrier)
        } else {
            GateAction::Nothing
        }
    }

    pub fn on_end_of_input(&mut self, channel: usize) -> Vec<GateAction> {
        self.channels[channel].ended = true;
        let mut actions = vec![self.check_aligned()];
        if self.channels.iter().all(|c| c.ended) {
            actions.push(self.advance_watermark());
            actions.push(GateAction::EndOfInput);
        } else if !self.all_idle && self.every_channel_idle_or_ended() {
            // The last active channel ended while the others are idle.
            actions.extend(self.turn_idle());
        } else {
            actions.push(self.advance_watermark());
        }
        actions.retain(|a| *a != GateAction::Nothing);
        actions
    }
}

#[cfg(test)]
mod tests {
    use flinkrs_core::CheckpointId;
    use flinkrs_core::element::SnapshotKind;

    use super::*;

    #[test]
    fn watermark_is_the_minimum_over_active_channels() {
        let mut gate = GateState::new(2);
        assert_eq!(gate.on_watermark(0, Watermark(10)), vec![]);
        assert_eq!(
            gate.on_watermark(1, Watermark(5)),
            vec![GateAction::Watermark(Watermark(5))]
        );
        assert_eq!(
            gate.on_watermark(1, Watermark(20)),
            vec![GateAction::Watermark(Watermark(10))]
        );
        // An idle channel no longer holds the watermark back.
        assert_eq!(gate.on_watermark(1, Watermark(30)), vec![]);
        assert_eq!(
            gate.on_status(0, WatermarkStatus::Idle),
            vec![GateAction::Watermark(Watermark(30))]
        );
        assert_eq!(
            gate.on_status(1, WatermarkStatus::Idle),
            vec![GateAction::Status(WatermarkStatus::Idle)]
        );
        assert_eq!(
            gate.on_status(1, WatermarkStatus::Active),
            vec![GateAction::Status(WatermarkStatus::Active)]
        );
    }

    #[test]
    fn when_all_channels_turn_idle_the_largest_watermark_goes_out_first() {
        let mut gate = GateState::new(2);
        assert_eq!(gate.on_watermark(0, Watermark(4_999)), vec![]);
        // The channel that carries time goes idle first: the other still holds it back.
        assert_eq!(
            gate.on_status(0, WatermarkStatus::Idle),
            vec![GateAction::Nothing]
        );
        assert_eq!(
            gate.on_status(1, WatermarkStatus::Idle),
            vec![
                GateAction::Watermark(Watermark(4_999)),
                GateAction::Status(WatermarkStatus::Idle)
            ]
        );
    }

    #[test]
    fn an_ended_channel_counts_as_idle_when_every_other_channel_is_idle() {
        let mut gate = GateState::new(2);
        assert_eq!(gate.on_watermark(0, Watermark(700)), vec![]);
        assert_eq!(
            gate.on_status(0, WatermarkStatus::Idle),
            vec![GateAction::Nothing]
        );
        assert_eq!(
            gate.on_watermark(1, Watermark(300)),
            vec![GateAction::Watermark(Watermark(300))]
        );
        // Channel 1 ends below channel 0's watermark: the idle channel holds nothing back, so
        // time advances to the largest watermark reached and the gate turns idle.
        assert_eq!(
            gate.on_end_of_input(1),
            vec![
                GateAction::Watermark(Watermark(700)),
                GateAction::Status(WatermarkStatus::Idle)
            ]
        );
        assert_eq!(gate.on_end_of_input(0), vec![GateAction::EndOfInput]);
    }

    #[test]
    fn a_watermark_on_an_idle_gate_reports_active_before_the_watermark() {
        let mut gate = GateState::new(2);
        assert_eq!(
            gate.on_status(0, WatermarkStatus::Idle),
            vec![GateAction::Nothing]
        );
        assert_eq!(
            gate.on_status(1, WatermarkStatus::Idle),
            vec![GateAction::Status(WatermarkStatus::Idle)]
        );
        // A watermark implies activity (as Flink's WatermarkOutput documents), so downstream
        // must hear that the input is active again before time moves.
        assert_eq!(
            gate.on_watermark(1, Watermark(50)),
            vec![
                GateAction::Status(WatermarkStatus::Active),
                GateAction::Watermark(Watermark(50))
            ]
        );
        assert_eq!(
            gate.on_watermark(1, Watermark(60)),
            vec![GateAction::Watermark(Watermark(60))]
        );
    }

    #[test]
    fn barrier_aligns_once_every_live_channel_delivered_it() {
        let barrier = CheckpointBarrier {
            id: CheckpointId(1),
            timestamp: 0,
            kind: SnapshotKind::Checkpoint,
        };
        let mut gate = GateState::new(3);
        assert_eq!(gate.on_barrier(0, barrier), GateAction::Nothing);
        assert!(
            !gate.is_readable(0),
            "a channel is blocked after its barrier"
        );
        assert!(gate.is_readable(1));
        assert!(gate.on_end_of_input(2).is_empty());
        assert_eq!(
            gate.on_barrier(1, barrier),
            GateAction::BarrierAligned(barrier)
        );
        assert!(gate.is_readable(0) && gate.is_readable(1));
    }

    fn barrier(id: u64) -> CheckpointBarrier {
        CheckpointBarrier {
            id: CheckpointId(id),
            timestamp: 0,
            kind: SnapshotKind::Checkpoint,
        }
    }

    #[test]
    fn an_aborted_alignment_reads_every_channel_again_and_drops_its_late_barriers() {
        let mut gate = GateState::new(2);
        assert_eq!(gate.on_barrier(0, barrier(4)), GateAction::Nothing);
        assert!(!gate.is_readable(0));
        // The checkpoint timed out while channel 1 was still far behind.
        gate.on_checkpoint_aborted(CheckpointId(4));
        assert!(gate.is_readable(0) && gate.is_readable(1));
        assert_eq!(gate.on_barrier(1, barrier(4)), GateAction::Nothing);
        assert!(
            gate.is_readable(1),
            "a late barrier of an aborted checkpoint blocks nothing"
        );
        // The next checkpoint aligns as usual.
        assert_eq!(gate.on_barrier(1, barrier(5)), GateAction::Nothing);
        assert_eq!(
            gate.on_barrier(0, barrier(5)),
            GateAction::BarrierAligned(barrier(5))
        );
    }

    #[test]
    fn a_newer_barrier_abandons_the_alignment_of_an_older_one() {
        let mut gate = GateState::new(3);
        assert_eq!(gate.on_barrier(0, barrier(1)), GateAction::Nothing);
        assert_eq!(gate.on_barrier(1, barrier(2)), GateAction::Nothing);
        assert!(
            gate.is_readable(0),
            "channel 0 is released from checkpoint 1"
        );
        assert!(!gate.is_readable(1));
        assert_eq!(gate.on_barrier(2, barrier(1)), GateAction::Nothing);
        assert_eq!(gate.on_barrier(0, barrier(2)), GateAction::Nothing);
        assert_eq!(
            gate.on_barrier(2, barrier(2)),
            GateAction::BarrierAligned(barrier(2))
        );
    }

    #[test]
    fn end_of_input_after_all_channels_ended() {
        let mut gate = GateState::new(2);
        gate.on_watermark(0, Watermark::MAX);
        assert_eq!(gate.on_end_of_input(0), vec![]);
        assert_eq!(
            gate.on_end_of_input(1),
            vec![
                GateAction::Watermark(Watermark::MAX),
                GateAction::EndOfInput
            ]
        );
    }
}
