//! The simulator core: channel timing, back-pressure, occupancy,
//! deadlock reports, determinism and checkers, on small hand-built graphs
//! whose cycle counts follow from the channel and unit rules.

use hwformer_dataflow::units::{map, Broadcast, Checker, Generator, HoldJoin, Sink, StatefulMap};
use hwformer_dataflow::{DataflowError, Program, RunReport, Timing};
use proptest::prelude::*;

/// source -> map(latency) -> sink, every channel of `capacity`.
fn chain(n: u64, latency: u64, capacity: usize, map_ii: u64) -> RunReport {
    let mut p = Program::new();
    let (a_tx, a_rx) = p.channel::<u64>("a", capacity, 1).unwrap();
    let (b_tx, b_rx) = p.channel::<u64>("b", capacity, 1).unwrap();
    p.add(Generator::new("source", 0..n, a_tx, Timing::pipelined(0)));
    let timing = Timing {
        latency,
        initiation_interval: map_ii,
    };
    p.add(map("double", a_rx, b_tx, timing, |x| 2 * x));
    let (check, handle) = Checker::exact("check", b_rx, (0..n).map(|x| 2 * x));
    p.add(check);
    let report = p.run().unwrap();
    assert!(handle.borrow().passed(), "{:?}", handle.borrow());
    assert_eq!(handle.borrow().checked, n);
    report
}

#[test]
fn a_pipelined_chain_takes_n_plus_its_latencies() {
    for n in [1, 10, 100] {
        for latency in [0, 1, 3] {
            // element k leaves the source at k, crosses 2 channels and the map
            let r = chain(n, latency, 2, 1);
            assert_eq!(r.cycles, n + latency + 2, "n={n} latency={latency}");
            assert_eq!(r.channel("a").unwrap().stats.elements, n);
        }
    }
}

#[test]
fn capacity_one_halves_throughput_and_two_restores_it() {
    // a slot freed by a receive at t is seen by the sender at t + 1
    let n = 50;
    assert_eq!(chain(n, 0, 1, 1).cycles, 2 * n + 1);
    assert_eq!(chain(n, 0, 2, 1).cycles, n + 2);
}

#[test]
fn a_slow_unit_fills_its_input_to_capacity() {
    let n = 60;
    let r = chain(n, 1, 8, 3);
    assert_eq!(r.channel("a").unwrap().stats.peak_occupancy, 8);
    assert!(r.channel("b").unwrap().stats.peak_occupancy <= 1);
    // the source stalls on the full channel; the map is busy every third cycle
    let source = &r.contexts[0].stats;
    assert!(source.output_stall_cycles > 0);
    assert_eq!(r.contexts[1].stats.busy_cycles, 3 * n);
    assert_eq!(r.cycles, 3 * (n - 1) + 1 + 1 + 2);
}

/// source -> fork -> { reduce(sum of a row of `row`), row FIFO of `depth` } -> join -> sink
fn fork_join(rows: u64, row: u64, depth: usize) -> Result<RunReport, DataflowError> {
    let mut p = Program::new();
    let (s_tx, s_rx) = p.channel::<(u64, bool)>("source", 2, 1)?;
    let (a_tx, a_rx) = p.channel::<(u64, bool)>("to_sum", 2, 1)?;
    let (b_tx, b_rx) = p.channel::<(u64, bool)>("row_fifo", depth, 1)?;
    let (sum_tx, sum_rx) = p.channel::<u64>("sum", 2, 1)?;
    let (out_tx, out_rx) = p.channel::<u64>("out", 2, 1)?;
    let items = (0..rows * row).map(move |i| (i, i % row == row - 1));
    p.add(Generator::new("gen", items, s_tx, Timing::pipelined(0)));
    p.add(Broadcast::new(
        "fork",
        s_rx,
        vec![a_tx, b_tx],
        Timing::pipelined(0),
    ));
    p.add(StatefulMap::new(
        "sum",
        a_rx,
        sum_tx,
        Timing::pipelined(1),
        0u64,
        |acc, (x, last): (u64, bool)| {
            *acc += x;
            last.then(|| std::mem::take(acc))
        },
    ));
    p.add(HoldJoin::new(
        "join",
        sum_rx,
        b_rx,
        out_tx,
        Timing::pipelined(1),
        |x: &(u64, bool)| x.1,
        |s: &u64, x: (u64, bool)| s + x.0,
    ));
    p.add(Sink::new("sink", out_rx, |_, _| {}));
    p.run()
}

#[test]
fn a_row_barrier_deadlocks_with_a_short_fifo_and_says_who_waits() {
    match fork_join(3, 10, 5) {
        Err(DataflowError::Deadlock(d)) => {
            let text = d.to_string();
            assert!(text.contains("fork") && text.contains("row_fifo"), "{text}");
            let fork = d.waiters.iter().find(|w| w.context == "fork").unwrap();
            assert_eq!((fork.channel.as_str(), fork.state), ("row_fifo", "full"));
            let join = d.waiters.iter().find(|w| w.context == "join").unwrap();
            assert_eq!((join.channel.as_str(), join.state), ("sum", "empty"));
            assert!(d.report.channel("row_fifo").unwrap().stats.peak_occupancy == 5);
        }
        other => panic!("expected a deadlock, got {other:?}"),
    }
    let done = fork_join(3, 10, 16).unwrap();
    assert_eq!(done.channel("out").unwrap().stats.elements, 30);
}

#[test]
fn runs_are_deterministic() {
    assert_eq!(fork_join(4, 7, 9).unwrap(), fork_join(4, 7, 9).unwrap());
    assert_eq!(chain(33, 2, 3, 2), chain(33, 2, 3, 2));
}

#[test]
fn checkers_report_the_first_mismatch_and_missing_or_extra_elements() {
    let run = |n: u64, expected: Vec<u64>| {
        let mut p = Program::new();
        let (tx, rx) = p.channel::<u64>("a", 2, 1).unwrap();
        p.add(Generator::new("gen", 0..n, tx, Timing::pipelined(0)));
        let (check, handle) = Checker::exact("check", rx, expected.into_iter());
        p.add(check);
        p.run().unwrap();
        let r = handle.borrow().clone();
        r
    };
    let r = run(5, vec![0, 1, 7, 3, 9]);
    assert_eq!(r.mismatches, 2);
    let first = r.first.unwrap();
    assert_eq!(
        (
            first.index,
            first.cycle,
            first.expected.as_str(),
            first.actual.as_str()
        ),
        (2, 3, "7", "2")
    );
    let missing = run(2, vec![0, 1, 2]);
    assert_eq!(missing.first.unwrap().actual, "end of stream");
    let extra = run(3, vec![0, 1]);
    assert_eq!(extra.first.unwrap().expected, "end of stream");
}

#[test]
fn a_unit_fed_by_a_context_cannot_run_on_demand() {
    let mut p = Program::new();
    let (a_tx, a_rx) = p.channel::<u64>("a", 2, 1).unwrap();
    let (b_tx, _b_rx) = p.channel::<u64>("b", 2, 1).unwrap();
    p.add(Generator::new("source", 0..4, a_tx, Timing::pipelined(0)));
    let refused = p
        .add_on_demand(map("double", a_rx, b_tx, Timing::pipelined(1), |x| 2 * x))
        .unwrap_err();
    assert!(refused.to_string().contains("unit double"), "{refused}");
    assert!(refused.to_string().contains("fed on demand"), "{refused}");
}

#[test]
fn a_channel_already_used_cannot_be_fed_on_demand() {
    let mut p = Program::new();
    let (tx, _rx) = p.channel::<u64>("closed", 2, 1).unwrap();
    tx.close();
    let refused = p
        .add_on_demand(Generator::new("late", 0..4, tx, Timing::pipelined(0)))
        .unwrap_err();
    assert!(refused.to_string().contains("closed already"), "{refused}");
}

/// A join whose last group never ends (its stream closes first): as a
/// context it waits on the closed stream, run on demand it leaves its
/// receiver waiting; either way a deadlock, not a panic.
#[test]
fn a_group_that_never_ends_is_a_deadlock_either_way() {
    for on_demand in [false, true] {
        let mut p = Program::new();
        let (h_tx, h_rx) = p.channel::<u64>("held", 2, 1).unwrap();
        let (s_tx, s_rx) = p.channel::<u64>("stream", 2, 1).unwrap();
        let (o_tx, o_rx) = p.channel::<u64>("out", 2, 1).unwrap();
        add_sources(
            &mut p,
            on_demand,
            (0..1, h_tx),
            (0..2, s_tx),
            Timing::pipelined(0),
        );
        let join = HoldJoin::new(
            "join",
            h_rx,
            s_rx,
            o_tx,
            Timing::pipelined(1),
            |_: &u64| false,
            |h: &u64, x| h + x,
        );
        if on_demand {
            p.add_on_demand(join).unwrap();
        } else {
            p.add(join);
        }
        let (check, _) = Checker::exact("check", o_rx, [0, 1, 2].into_iter());
        p.add(check);
        match p.run() {
            Err(DataflowError::Deadlock(d)) => {
                let waiter = if on_demand { "check" } else { "join" };
                assert!(
                    d.waiters.iter().any(|w| w.context == waiter),
                    "on demand {on_demand}: {d}"
                );
            }
            other => panic!("on demand {on_demand}: {other:?}"),
        }
    }
}

/// A reduce run on demand whose receiver stops early takes the rest of its
/// input before the generator feeding it is asked what is left: the run
/// succeeds, as with contexts.
#[test]
fn leftovers_are_asked_for_downstream_first() {
    for on_demand in [false, true] {
        let mut p = Program::new();
        let (g_tx, g_rx) = p.channel::<u64>("numbers", 2, 1).unwrap();
        let (r_tx, r_rx) = p.channel::<u64>("sums", 2, 1).unwrap();
        let (h_tx, h_rx) = p.channel::<u64>("held", 2, 1).unwrap();
        let (o_tx, o_rx) = p.channel::<u64>("out", 2, 1).unwrap();
        // sums of threes; the last group (9, 10) never ends, so no sum
        let reduce = StatefulMap::new(
            "reduce",
            g_rx,
            r_tx,
            Timing::pipelined(1),
            0u64,
            |sum: &mut u64, x: u64| {
                *sum += x;
                (x % 3 == 2).then(|| std::mem::take(sum))
            },
        );
        if on_demand {
            p.add_on_demand(Generator::new("numbers", 0..11, g_tx, Timing::pipelined(0)))
                .unwrap();
            p.add_on_demand(reduce).unwrap();
        } else {
            p.add(Generator::new("numbers", 0..11, g_tx, Timing::pipelined(0)));
            p.add(reduce);
        }
        // one held value, joined with every sum as a single group
        p.add(Generator::new("held", 0..1, h_tx, Timing::pipelined(0)));
        p.add(HoldJoin::new(
            "join",
            h_rx,
            r_rx,
            o_tx,
            Timing::pipelined(1),
            |s: &u64| *s == 21,
            |h: &u64, s| h + s,
        ));
        let (check, handle) = Checker::exact("check", o_rx, [3, 12, 21].into_iter());
        p.add(check);
        let report = p.run();
        assert!(report.is_ok(), "on demand {on_demand}: {report:?}");
        assert!(handle.borrow().passed(), "{:?}", handle.borrow());
    }
}

#[test]
fn bad_channels_are_refused() {
    let mut p = Program::new();
    assert!(p
        .channel::<u8>("zero", 0, 1)
        .unwrap_err()
        .to_string()
        .contains("capacity"));
    assert!(p
        .channel::<u8>("instant", 1, 0)
        .unwrap_err()
        .to_string()
        .contains("latency"));
}

/// `held_source` and `stream_source`, as sources run on demand or as
/// generators.
fn add_sources(
    p: &mut Program,
    on_demand: bool,
    held: (std::ops::Range<u64>, hwformer_dataflow::channel::Sender<u64>),
    stream: (std::ops::Range<u64>, hwformer_dataflow::channel::Sender<u64>),
    timing: Timing,
) {
    for (name, (items, tx)) in [("held_source", held), ("stream_source", stream)] {
        if on_demand {
            p.add_on_demand(Generator::new(name, items, tx, timing)).unwrap();
        } else {
            p.add(Generator::new(name, items, tx, timing));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn occupancy_never_exceeds_capacity_and_order_is_kept(
        n in 1u64..200, capacity in 1usize..6, latency in 1u64..4, ii in 1u64..4, map_latency in 0u64..5
    ) {
        let mut p = Program::new();
        let (a_tx, a_rx) = p.channel::<u64>("a", capacity, latency).unwrap();
        let (b_tx, b_rx) = p.channel::<u64>("b", capacity, latency).unwrap();
        p.add(Generator::new("gen", 0..n, a_tx, Timing::pipelined(0)));
        p.add(map("m", a_rx, b_tx, Timing { latency: map_latency, initiation_interval: ii }, |x| x + 1));
        let (check, handle) = Checker::exact("check", b_rx, 1..=n);
        p.add(check);
        let r = p.run().unwrap();
        prop_assert!(handle.borrow().passed());
        for c in &r.channels {
            prop_assert!(c.stats.peak_occupancy <= capacity);
            prop_assert!(c.stats.peak_occupancy >= 1);
        }
        // the slowest of: the unit's interval, a capacity-1 channel's 2 cycles
        let per_element = ii.max(if capacity == 1 { latency + 1 } else { 1 });
        prop_assert!(r.cycles > (n - 1) * per_element + 2 * latency + map_latency);
    }

    #[test]
    fn a_generator_on_demand_times_everything_as_a_context_does(
        groups in 1u64..12, group in 1u64..12,
        capacities in proptest::array::uniform3(1usize..5),
        latencies in proptest::array::uniform3(1u64..4),
        source_timing in (0u64..3, 1u64..3),
        join_timing in (0u64..4, 1u64..3),
        sink_ii in 1u64..4,
    ) {
        // held values and groups of a stream joined, then a slow unit:
        // back-pressure reaches both sources
        let build = |on_demand: bool| {
            let mut p = Program::new();
            let (h_tx, h_rx) = p.channel::<u64>("held", capacities[0], latencies[0]).unwrap();
            let (s_tx, s_rx) = p.channel::<u64>("stream", capacities[1], latencies[1]).unwrap();
            let (o_tx, o_rx) = p.channel::<u64>("out", capacities[2], latencies[2]).unwrap();
            let timing = Timing { latency: source_timing.0, initiation_interval: source_timing.1 };
            let stream = 0..groups * group;
            add_sources(&mut p, on_demand, (0..groups, h_tx), (stream, s_tx), timing);
            let join = Timing { latency: join_timing.0, initiation_interval: join_timing.1 };
            p.add(HoldJoin::new("join", h_rx, s_rx, o_tx, join, move |x: &u64| x % group == group - 1, |h: &u64, x| h * 1000 + x));
            let slow = Timing { latency: 1, initiation_interval: sink_ii };
            let expected: Vec<u64> = (0..groups * group).map(|x| (x / group) * 1000 + x).collect();
            let (last_tx, last_rx) = p.channel::<u64>("last", 2, 1).unwrap();
            p.add(map("slow", o_rx, last_tx, slow, |x| x));
            let (check, handle) = Checker::exact("check", last_rx, expected.into_iter());
            p.add(check);
            let report = p.run().unwrap();
            assert!(handle.borrow().passed());
            report
        };
        prop_assert_eq!(build(true), build(false));
    }

    #[test]
    fn a_chain_run_on_demand_times_everything_as_contexts_do(
        groups in 1u64..10, group in 1u64..10,
        capacities in proptest::array::uniform5(1usize..5),
        latencies in proptest::array::uniform5(1u64..4),
        timings in proptest::array::uniform4((0u64..4, 1u64..3)),
        sink_ii in 1u64..4,
    ) {
        // generators -> join -> scan -> reduce per group -> slow map -> check,
        // every unit before the slow map run on demand or as a context
        let build = |on_demand: bool| {
            let mut p = Program::new();
            let (h_tx, h_rx) = p.channel::<u64>("held", capacities[0], latencies[0]).unwrap();
            let (s_tx, s_rx) = p.channel::<u64>("stream", capacities[1], latencies[1]).unwrap();
            let (j_tx, j_rx) = p.channel::<(u64, u64)>("joined", capacities[2], latencies[2]).unwrap();
            let (c_tx, c_rx) = p.channel::<(u64, u64, u64)>("running", capacities[3], latencies[3]).unwrap();
            let (r_tx, r_rx) = p.channel::<u64>("sums", capacities[4], latencies[4]).unwrap();
            let timing = |i: usize| Timing { latency: timings[i].0, initiation_interval: timings[i].1 };
            add_sources(&mut p, on_demand, (0..groups, h_tx), (0..groups * group, s_tx), timing(0));
            let last = move |x: &u64| x % group == group - 1;
            let join = HoldJoin::new("join", h_rx, s_rx, j_tx, timing(1), last, |h: &u64, x| (*h, x));
            let scan = StatefulMap::new("scan", j_rx, c_tx, timing(2), 0u64, |sum: &mut u64, (h, x): (u64, u64)| {
                *sum += x;
                Some((h, x, *sum))
            });
            let reduce = StatefulMap::new("reduce", c_rx, r_tx, timing(3), (), move |_, (h, x, sum): (u64, u64, u64)| {
                last(&x).then_some(h * 1_000_000 + sum)
            });
            if on_demand {
                p.add_on_demand(join).unwrap();
                p.add_on_demand(scan).unwrap();
                p.add_on_demand(reduce).unwrap();
            } else {
                p.add(join);
                p.add(scan);
                p.add(reduce);
            }
            let (last_tx, last_rx) = p.channel::<u64>("last", 2, 1).unwrap();
            p.add(map("slow", r_rx, last_tx, Timing { latency: 1, initiation_interval: sink_ii }, |x| x));
            let expected: Vec<u64> = (0..groups)
                .map(|g| g * 1_000_000 + (0..(g + 1) * group).sum::<u64>())
                .collect();
            let (check, handle) = Checker::exact("check", last_rx, expected.into_iter());
            p.add(check);
            let report = p.run().unwrap();
            assert!(handle.borrow().passed(), "{:?}", handle.borrow());
            report
        };
        prop_assert_eq!(build(true), build(false));
    }

    #[test]
    fn a_generator_on_demand_whose_receiver_stops_early_ends_the_run_as_a_context_would(
        groups in 1u64..6, extra in 1u64..6, on_demand: bool,
    ) {
        // the held stream ends after `groups` groups; the stream has more
        let mut p = Program::new();
        let (h_tx, h_rx) = p.channel::<u64>("held", 2, 1).unwrap();
        let (s_tx, s_rx) = p.channel::<u64>("stream", 2, 1).unwrap();
        let (o_tx, o_rx) = p.channel::<u64>("out", 2, 1).unwrap();
        let stream = 0..groups * 3 + extra;
        let timing = Timing::pipelined(0);
        add_sources(&mut p, on_demand, (0..groups, h_tx), (stream, s_tx), timing);
        p.add(HoldJoin::new("join", h_rx, s_rx, o_tx, timing, |x: &u64| x % 3 == 2, |h: &u64, x| h + x));
        p.add(Sink::new("sink", o_rx, |_, _| {}));
        match p.run() {
            Err(DataflowError::Deadlock(d)) => {
                // the generator is caught only when its channel filled up
                let blocked = d.waiters.iter().any(|w| w.context == "stream_source" && w.state == "full");
                prop_assert!(blocked || !on_demand, "{d}");
            }
            Ok(_) => prop_assert!(!on_demand && extra <= 2, "the run ended with {extra} keys nobody took"),
            Err(e) => prop_assert!(false, "{e}"),
        }
    }
}
