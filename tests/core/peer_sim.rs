//! A seeded, deterministic simulation of a store's devices syncing as peers over a bad
//! network, against one real central.
//!
//! Several devices (each its own replica file) do random workflow steps on random orders
//! while the test carries their session frames through an in-memory network it controls:
//! links are cut and healed, frames are dropped, duplicated, delivered out of order, and
//! frames of finished sessions turn up in new ones; devices are stopped and reopened in the
//! middle of sessions; now and then a device reaches central, and central cancels an order.
//! Every choice comes from one seeded generator and the test runs on one thread, so a seed
//! replays the same schedule (the devices' own clocks and ids still come from the machine,
//! which may change which of two concurrent steps wins, never whether the invariants hold).
//!
//! At the end the network heals and every pair of devices syncs until nothing changes, in a
//! bounded number of rounds. Then every device must hold identical heads for every document
//! and identical query tables; no order may have two handovers; every confirmed scan must be
//! in its order's history; and after one device pushes to central and the acknowledgements
//! sync, central holds each write-back event once and every outbox shows it acknowledged.
//!
//! `STOREHAND_SIM_SEED=N` replays seed N; `STOREHAND_SIM_SEEDS=N` runs seeds 1 to N (a
//! soak). A failing seed prints itself.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use storehand::Device;
use storehand::api::{OrderStatus, OrderView};
use storehand::contract::Verification;
use storehand::peer::{self, Next, Outcome, Session};

use super::{assert_same, replicated};
use crate::support::{Central, device, runtime};

/// Seeds CI runs.
const CI_SEEDS: &[u64] = &[1, 2, 3];
const DEVICES: usize = 3;
const STEPS: usize = 600;
/// Orders the devices work on: few enough that they get picked, staged, readied and handed
/// over, and that devices collide on them.
const ORDERS: usize = 6;
/// Rounds of every pair syncing, after the network heals, within which all must agree.
const HEAL_ROUNDS: usize = 3;

#[test]
fn devices_syncing_over_a_faulty_network_converge_and_keep_every_invariant() {
    let seeds: Vec<u64> = if let Some(seed) = env_u64("STOREHAND_SIM_SEED") {
        vec![seed]
    } else if let Some(n) = env_u64("STOREHAND_SIM_SEEDS") {
        (1..=n).collect()
    } else {
        CI_SEEDS.to_vec()
    };
    for seed in seeds {
        eprintln!("peer simulation: seed {seed}");
        let outcome = std::panic::catch_unwind(|| simulate(seed));
        if let Err(panic) = outcome {
            eprintln!(
                "peer simulation failed with seed {seed}; replay it with \
                 STOREHAND_SIM_SEED={seed} cargo test --test core peer::sim"
            );
            std::panic::resume_unwind(panic);
        }
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, not {value:?}")),
    )
}

/// SplitMix64: small, fast, and the same sequence on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True `per_mille` times in a thousand.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.next() % 1000 < per_mille
    }
}

/// One connection between two devices: a session at each end and the frames on the wire,
/// as a bag the network delivers from in any order.
struct Link {
    initiator: usize,
    responder: usize,
    sessions: [Session; 2],
    done: [bool; 2],
    /// Frames in flight, each with the end it goes to (0 initiator, 1 responder).
    wire: Vec<(Vec<u8>, usize)>,
}

impl Link {
    fn device(&self, end: usize) -> usize {
        [self.initiator, self.responder][end]
    }
}

/// The simulated store.
struct Store {
    rng: Rng,
    central: Central,
    devices: Vec<Option<Arc<Device>>>,
    /// Whether the network joins two devices (by the lower index first).
    cut: HashSet<(usize, usize)>,
    links: Vec<Link>,
    /// Frames of sessions that are over, which a confused network may still deliver.
    stale: Vec<(usize, usize, Vec<u8>)>,
    /// Order document ids, with their platform ids.
    orders: Vec<(String, String)>,
    /// Scans a device confirmed, by order.
    confirmed: HashMap<String, u32>,
    cancelled_at_central: HashSet<String>,
    counts: BTreeMap<&'static str, u32>,
}

fn simulate(seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let central = Central::demo(dir.path());
    let devices = (0..DEVICES)
        .map(|i| Some(device(dir.path(), &format!("tablet-{i}"), &central)))
        .collect();
    let mut store = Store {
        rng: Rng(seed),
        central,
        devices,
        cut: HashSet::new(),
        links: Vec::new(),
        stale: Vec::new(),
        orders: Vec::new(),
        confirmed: HashMap::new(),
        cancelled_at_central: HashSet::new(),
        counts: BTreeMap::new(),
    };
    store.orders = store
        .dev(0)
        .list_orders(OrderView::Queue)
        .unwrap()
        .into_iter()
        .take(ORDERS)
        .map(|o| (o.id, o.platform_order_id))
        .collect();

    for _ in 0..STEPS {
        // Per mille of the steps.
        match store.rng.below(1000) {
            0..330 => store.workflow_step(),
            330..800 => store.deliver(),
            800..880 => store.connect(),
            880..905 => store.toggle_link(),
            905..920 => store.restart(),
            920..950 => store.deliver_stale(),
            950..996 => store.reach_central(),
            _ => store.central_cancels(),
        }
    }
    eprintln!("  {:?}", store.counts);
    store.heal_and_check();
}

impl Store {
    fn dev(&self, i: usize) -> Arc<Device> {
        Arc::clone(self.devices[i].as_ref().expect("device is running"))
    }

    fn count(&mut self, what: &'static str) {
        *self.counts.entry(what).or_default() += 1;
    }

    /// A device does the next step of a random order as it sees the order (an associate's
    /// choice), or now and then any step at all; refusals are part of the game.
    fn workflow_step(&mut self) {
        let d = self.rng.below(DEVICES);
        let device = self.dev(d);
        let (doc_id, _) = self.orders[self.rng.below(self.orders.len())].clone();
        let order = device.order(&doc_id).unwrap();
        let open: Vec<_> = order
            .lines
            .iter()
            .filter(|l| l.picked < l.ordered)
            .collect();
        let sensible = match order.summary.status {
            OrderStatus::New | OrderStatus::Picking => 0,
            OrderStatus::Picked => 1,
            OrderStatus::Staged => 2,
            _ => 3,
        };
        let step = if self.rng.chance(150) {
            self.rng.below(4)
        } else {
            sensible
        };
        let (kind, outcome) = match step {
            0 => {
                let line = match open.is_empty() || self.rng.chance(150) {
                    true => &order.lines[self.rng.below(order.lines.len())],
                    false => open[self.rng.below(open.len())],
                };
                let scanned = device.scan_item(&doc_id, &line.printed_code);
                if scanned.is_ok() {
                    *self.confirmed.entry(doc_id.clone()).or_default() += 1;
                }
                ("scan", scanned.map(drop))
            }
            1 => ("stage", device.stage_order(&doc_id, "BIN-A07").map(drop)),
            2 => ("ready", device.mark_ready(&doc_id).map(drop)),
            _ => {
                let handed = device.hand_over(
                    &doc_id,
                    Verification::PickupCode,
                    Some(&order.pickup_code),
                    None,
                );
                ("hand_over", handed.map(drop))
            }
        };
        match outcome {
            Ok(()) => self.count(kind),
            Err(err) if err.is_refusal() => self.count("refused"),
            Err(err) => panic!("device {d}: {kind} failed: {err}"),
        }
    }

    /// Opens a session between two connected devices that have none.
    fn connect(&mut self) {
        let a = self.rng.below(DEVICES);
        let b = (a + 1 + self.rng.below(DEVICES - 1)) % DEVICES;
        let busy = self
            .links
            .iter()
            .any(|l| (l.initiator, l.responder) == (a, b) || (l.initiator, l.responder) == (b, a));
        if busy || self.cut.contains(&(a.min(b), a.max(b))) {
            return;
        }
        let (initiator, hello) = Session::initiate(&self.dev(a)).unwrap();
        let responder = Session::respond(&self.dev(b)).unwrap();
        self.links.push(Link {
            initiator: a,
            responder: b,
            sessions: [initiator, responder],
            done: [false, false],
            wire: vec![(hello, 1)],
        });
        self.count("session");
    }

    /// The network moves one frame of one link: delivers it, maybe twice, or loses it. A link
    /// with nothing on the wire has timed out and closes.
    fn deliver(&mut self) {
        if self.links.is_empty() {
            return;
        }
        let l = self.rng.below(self.links.len());
        if self.links[l].wire.is_empty() {
            self.close(l);
            self.count("timeout");
            return;
        }
        let pick = self.rng.below(self.links[l].wire.len());
        let (bytes, end) = self.links[l].wire.remove(pick);
        if self.rng.chance(60) {
            self.count("dropped");
            return;
        }
        if self.rng.chance(60) {
            self.links[l].wire.push((bytes.clone(), end));
            self.count("duplicated");
        }
        self.hand(l, end, &bytes);
    }

    /// Gives `bytes` to one end of a link and puts its answer on the wire.
    fn hand(&mut self, l: usize, end: usize, bytes: &[u8]) {
        let device = self.dev(self.links[l].device(end));
        let link = &mut self.links[l];
        let next = link.sessions[end]
            .receive(&device, bytes)
            .unwrap_or_else(|err| panic!("a session failed on storage: {err}"));
        match next {
            Next::Send(answer) => link.wire.push((answer, 1 - end)),
            Next::SendLast(answer) => {
                link.wire.push((answer, 1 - end));
                link.done[end] = true;
            }
            Next::Finished => link.done[end] = true,
        }
        if link.done == [true, true] {
            let converged = link.sessions[0].outcome() == Some(&Outcome::Converged);
            self.count(if converged { "converged" } else { "ended" });
            self.close(l);
        }
    }

    /// Closes a link: both ends forget their session; its frames may still haunt the network.
    fn close(&mut self, l: usize) {
        let link = self.links.swap_remove(l);
        let ends = [link.initiator, link.responder];
        for (bytes, end) in link.wire {
            self.stale.push((ends[1 - end], ends[end], bytes));
        }
        self.stale.truncate(64);
    }

    /// A frame of an earlier session arrives in a current one between the same devices.
    fn deliver_stale(&mut self) {
        if self.stale.is_empty() || self.links.is_empty() {
            return;
        }
        let (from, to, bytes) = self.stale[self.rng.below(self.stale.len())].clone();
        let Some(l) = self
            .links
            .iter()
            .position(|k| k.device(0) == from && k.device(1) == to)
            .or_else(|| {
                self.links
                    .iter()
                    .position(|k| k.device(1) == from && k.device(0) == to)
            })
        else {
            return;
        };
        let end = usize::from(self.links[l].device(1) == to);
        if self.links[l].done[end] {
            return;
        }
        self.count("stale");
        self.hand(l, end, &bytes);
    }

    /// Cuts a link that was up, or heals one that was cut; a cut breaks its sessions.
    fn toggle_link(&mut self) {
        let a = self.rng.below(DEVICES);
        let b = (a + 1 + self.rng.below(DEVICES - 1)) % DEVICES;
        let pair = (a.min(b), a.max(b));
        if !self.cut.remove(&pair) {
            self.cut.insert(pair);
            while let Some(l) = self
                .links
                .iter()
                .position(|k| (k.initiator.min(k.responder), k.initiator.max(k.responder)) == pair)
            {
                self.close(l);
            }
            self.count("cut");
        }
    }

    /// Stops a device (its connections break) and opens it again from its replica.
    fn restart(&mut self) {
        let d = self.rng.below(DEVICES);
        while let Some(l) = self
            .links
            .iter()
            .position(|k| k.initiator == d || k.responder == d)
        {
            self.close(l);
        }
        let device = self.devices[d].take().unwrap();
        assert_eq!(
            Arc::strong_count(&device),
            1,
            "the test holds the only handle"
        );
        let data = device.data_dir().to_owned();
        drop(device);
        let device = Device::open(&data).unwrap();
        device.sign_in("1001", "1234").unwrap();
        self.devices[d] = Some(Arc::new(device));
        self.count("restart");
    }

    /// A device reaches central: pulls (a cancel, maybe) and pushes its outbox.
    fn reach_central(&mut self) {
        let d = self.rng.below(DEVICES);
        let device = self.dev(d);
        runtime().block_on(device.sync()).unwrap();
        self.count("central_sync");
    }

    /// Central cancels an order it has not seen handed over or cancelled.
    fn central_cancels(&mut self) {
        let (_, platform_id) = self.orders[self.rng.below(self.orders.len())].clone();
        let kinds = self.central.event_kinds(&platform_id);
        let cancelled = self
            .dev(0)
            .list_orders(OrderView::All)
            .unwrap()
            .iter()
            .any(|o| o.platform_order_id == platform_id && o.status == OrderStatus::Cancelled);
        if cancelled
            || self.cancelled_at_central.contains(&platform_id)
            || kinds.iter().any(|k| k == "order_handed_over")
        {
            return;
        }
        self.central
            .cancel(&platform_id, "the customer cancelled online");
        self.cancelled_at_central.insert(platform_id);
        self.count("central_cancel");
    }

    /// Every pair syncs over a perfect network until a whole round changes nothing.
    fn sync_everyone(&mut self) {
        self.links.clear();
        self.cut.clear();
        for round in 1..=HEAL_ROUNDS + 1 {
            let before: Vec<String> = (0..DEVICES).map(|i| replicated(&self.dev(i))).collect();
            for a in 0..DEVICES {
                for b in a + 1..DEVICES {
                    let run = peer::exchange(&self.dev(a), &self.dev(b)).unwrap();
                    assert!(run.converged(), "{a} and {b} did not converge: {run:?}");
                    assert!(
                        run.initiator.skipped.is_empty() && run.responder.skipped.is_empty(),
                        "documents skipped: {run:?}"
                    );
                }
            }
            let after: Vec<String> = (0..DEVICES).map(|i| replicated(&self.dev(i))).collect();
            if before == after {
                return;
            }
            assert!(
                round <= HEAL_ROUNDS,
                "still changing after {HEAL_ROUNDS} rounds"
            );
        }
    }

    fn heal_and_check(&mut self) {
        self.sync_everyone();
        let first = self.dev(0);
        for i in 1..DEVICES {
            assert_same(&first, &self.dev(i));
        }

        for (doc_id, _) in &self.orders {
            let history = first.order(doc_id).unwrap().history;
            let count = |kind: &str| history.iter().filter(|h| h.kind == kind).count();
            assert!(count("order_handed_over") <= 1, "two handovers of {doc_id}");
            let confirmed = self.confirmed.get(doc_id).copied().unwrap_or(0) as usize;
            assert_eq!(
                count("item_picked"),
                confirmed,
                "every confirmed scan of {doc_id} is in its history, and nothing else"
            );
        }

        // One device pushes to central; the answers reach the others through sync.
        let d = self.rng.below(DEVICES);
        let pusher = self.dev(d);
        runtime().block_on(pusher.sync()).unwrap();
        self.sync_everyone();
        let first = self.dev(0);
        for i in 1..DEVICES {
            assert_same(&first, &self.dev(i));
        }
        let outbox = first.outbox().unwrap();
        let pending: Vec<_> = outbox.iter().filter(|e| e.state == "pending").collect();
        assert!(
            pending.is_empty(),
            "unacknowledged after the push: {pending:?}"
        );
        let in_outbox: HashMap<&str, &str> = outbox
            .iter()
            .map(|e| (e.event_id.as_str(), e.state.as_str()))
            .collect();
        let mut at_central = HashSet::new();
        for (_, platform_id) in &self.orders {
            let mut kinds = HashSet::new();
            for stored in self.central.events(platform_id) {
                let event = stored.get("event").unwrap_or(&stored);
                let id = event["eventId"]
                    .as_str()
                    .or_else(|| event["event_id"].as_str())
                    .expect("central lists event ids")
                    .to_owned();
                let kind = event["type"].as_str().unwrap_or_default().to_owned();
                assert!(
                    in_outbox.contains_key(id.as_str()),
                    "central holds {id}, which no outbox lists"
                );
                assert!(at_central.insert(id.clone()), "central holds {id} twice");
                assert!(
                    kinds.insert(kind.clone()),
                    "{platform_id}: two {kind} at central"
                );
            }
        }
        for (id, state) in &in_outbox {
            if *state == "stored" {
                assert!(
                    at_central.contains(*id),
                    "{id} acknowledged stored, not at central"
                );
            }
        }
    }
}
