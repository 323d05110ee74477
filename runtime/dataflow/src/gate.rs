//! The input gate of a task: over all input channels, it aligns checkpoint barriers, computes
//! the input watermark as the minimum over channels, and detects the end of input. It is pure
//! bookkeeping; the task loop in [`task`](crate::task) does the receiving.

use flinkrs_core::{CheckpointBarrier, Watermark, WatermarkStatus};

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

    pub fn on_watermark(&mut self, channel: usize, watermark: Watermark) -> GateAction {
        let state = &mut self.channels[channel];
        state.watermark = state.watermark.max(watermark.0);
        state.idle = false;
        if self.all_idle {
            self.all_idle = false;
        }
        self.advance_watermark()
    }

    pub fn on_status(&mut self, channel: usize, status: WatermarkStatus) -> Vec<GateAction> {
        self.channels[channel].idle = status == WatermarkStatus::Idle;
        let now_all_idle = self.channels.iter().all(|c| c.idle || c.ended);
        if now_all_idle == self.all_idle {
            // One channel going idle may release the watermark held back by it.
            return vec![self.advance_watermark()];
        }
        self.all_idle = now_all_idle;
        if !now_all_idle {
            return vec![GateAction::Status(WatermarkStatus::Active)];
        }
        // Every input is idle: as Flink's StatusWatermarkValve, first let time advance to the
        // largest watermark any channel reached, then report idleness.
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

    pub fn on_barrier(&mut self, channel: usize, barrier: CheckpointBarrier) -> GateAction {
        self.channels[channel].blocked = true;
        self.pending_barrier = Some(barrier);
        self.check_aligned()
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
        let mut actions = vec![self.check_aligned(), self.advance_watermark()];
        if self.channels.iter().all(|c| c.ended) {
            actions.push(GateAction::EndOfInput);
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
        assert_eq!(gate.on_watermark(0, Watermark(10)), GateAction::Nothing);
        assert_eq!(
            gate.on_watermark(1, Watermark(5)),
            GateAction::Watermark(Watermark(5))
        );
        assert_eq!(
            gate.on_watermark(1, Watermark(20)),
            GateAction::Watermark(Watermark(10))
        );
        // An idle channel no longer holds the watermark back.
        assert_eq!(gate.on_watermark(1, Watermark(30)), GateAction::Nothing);
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
        assert_eq!(gate.on_watermark(0, Watermark(4_999)), GateAction::Nothing);
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
