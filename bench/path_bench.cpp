// bench_path — ENet round trip and throughput over whatever path netcore finds (lan, direct,
// relay), for comparing the paths in the same run (bench/natlab_bench.sh, docs/NAT.md).
//
//   bench_path [options] <server[:port]> <name>          the responder: echoes and counts
//   bench_path [options] <server[:port]> <name> <peer>   the initiator: measures, prints one line
//
// The initiator, once connected, sends --pings unreliable pings one at a time (each waits for
// its echo: the application-level round trip through ENet), then queues --bytes of reliable
// data in --size packets and a final marker, and waits for the responder's count: throughput is
// bytes over the time from the first packet queued to the count's arrival. It prints
//   bench_path: path=relay sealed=1 pings=200 rtt_ms_median=0.61 rtt_ms_p90=0.80 enet_rtt_ms=1
//               bytes=4000000 seconds=0.512 throughput_mbit_s=62.5
// (one line) and exits 0; 2 when it cannot connect or the peer stops answering. sealed=0 with
// --plaintext: ENet's datagrams go unsealed (Config::insecure_plaintext_enet, debug only; both
// sides must pass it), for measuring what sealing costs (bench/sealing_bench.sh).
// Both sides update every 0.1 ms and right after queueing, so the figures are the path's, not
// a frame rate's.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "netcore/keys.hpp"
#include "netcore/session.hpp"

namespace {

using netcore::Clock;
using netcore::TimePoint;
using namespace std::chrono_literals;

constexpr std::uint8_t kPing = 'P';
constexpr std::uint8_t kEcho = 'E';
constexpr std::uint8_t kData = 'D';
constexpr std::uint8_t kFinish = 'F';
constexpr std::uint8_t kCount = 'R';

struct Options {
    netcore::Address server;
    std::string name;
    std::string peer;
    int pings = 200;
    std::size_t bytes = 4'000'000;
    std::size_t size = 1200;
    double timeout_s = 30.0;
    bool no_relay = false;
    bool relay_only = false;
    bool plaintext = false;
    std::optional<netcore::PublicKey> server_key;
};

std::vector<std::uint8_t> message(std::uint8_t type, std::uint64_t value, std::size_t size = 9) {
    std::vector<std::uint8_t> m(std::max<std::size_t>(size, 9), 0);
    m[0] = type;
    std::memcpy(m.data() + 1, &value, sizeof value);
    return m;
}

std::uint64_t value_of(const std::vector<std::uint8_t>& m) {
    std::uint64_t v = 0;
    if (m.size() >= 9) std::memcpy(&v, m.data() + 1, sizeof v);
    return v;
}

double ms(Clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

class Bench {
  public:
    explicit Bench(const Options& o) : options_(o), session_(config(o)) {}

    int run() {
        if (session_.start() != netcore::Error::none) return fail("cannot start the session");
        if (!options_.peer.empty()) session_.connect(options_.peer, 30s);
        const TimePoint deadline =
            Clock::now() + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(options_.timeout_s));
        while (!done_) {
            const TimePoint now = Clock::now();
            if (now > deadline) return fail("no result within the timeout");
            session_.update(now);
            netcore::Event e;
            while (session_.poll(e)) handle(e, now);
            if (failed_) return 2;
            if (connected_ && !options_.peer.empty()) drive(now);
            session_.update(Clock::now());  // sends what the events and drive() queued
            std::this_thread::sleep_for(100us);
        }
        return 0;
    }

  private:
    static netcore::Config config(const Options& o) {
        netcore::Config c;
        c.server = o.server;
        c.name = o.name;
        c.consent = o.peer.empty() ? netcore::Consent::open : netcore::Consent::mutual;
        c.use_relay = !o.no_relay;
        c.relay_only = o.relay_only;
        c.server_key = o.server_key;
        c.insecure_plaintext_enet = o.plaintext;
        return c;
    }

    int fail(const std::string& why) {
        std::fprintf(stderr, "bench_path: %s\n", why.c_str());
        failed_ = true;
        return 2;
    }

    void handle(const netcore::Event& e, TimePoint now) {
        using netcore::EventType;
        switch (e.type) {
            case EventType::connected:
                connected_ = true;
                path_ = e.path;
                break;
            case EventType::path_changed:
                path_ = e.path;
                break;
            case EventType::received:
                on_message(e.data, now);
                break;
            case EventType::disconnected:
                if (options_.peer.empty())
                    done_ = true;  // the responder's run ends here
                else if (!done_)
                    fail("the peer left before the end");
                break;
            case EventType::error:
                if (session_.state() != netcore::State::connected)
                    fail(std::string(netcore::to_string(e.error)) + ": " + e.detail);
                break;
            default:
                break;
        }
    }

    void on_message(const std::vector<std::uint8_t>& m, TimePoint now) {
        if (m.empty()) return;
        switch (m[0]) {
            case kPing:  // responder
                session_.send(netcore::Channel::unreliable, message(kEcho, value_of(m)));
                break;
            case kData:
                received_ += m.size();
                break;
            case kFinish:
                session_.send(netcore::Channel::reliable, message(kCount, received_));
                break;
            case kEcho:  // initiator
                if (ping_sent_ && value_of(m) == pings_done_) {
                    rtts_.push_back(ms(now - *ping_sent_));
                    ping_sent_.reset();
                    ++pings_done_;
                }
                break;
            case kCount:
                report(value_of(m), now);
                break;
            default:
                break;
        }
    }

    // The initiator's schedule: pings one at a time, then the bulk transfer.
    void drive(TimePoint now) {
        if (pings_done_ < static_cast<std::uint64_t>(options_.pings)) {
            if (ping_sent_ && now - *ping_sent_ > 1s) ping_sent_.reset();  // lost: send again
            if (!ping_sent_) {
                session_.send(netcore::Channel::unreliable, message(kPing, pings_done_));
                ping_sent_ = now;
            }
            return;
        }
        if (bulk_started_) return;
        bulk_started_ = now;
        for (std::size_t sent = 0; sent < options_.bytes; sent += options_.size)
            session_.send(netcore::Channel::reliable, message(kData, 0, options_.size));
        session_.send(netcore::Channel::reliable, message(kFinish, 0));
    }

    void report(std::uint64_t bytes, TimePoint now) {
        const double seconds = std::chrono::duration<double>(now - *bulk_started_).count();
        std::sort(rtts_.begin(), rtts_.end());
        const auto at = [&](double q) {
            return rtts_.empty()
                       ? 0.0
                       : rtts_[static_cast<std::size_t>(q * static_cast<double>(rtts_.size() - 1))];
        };
        std::printf(
            "bench_path: path=%s sealed=%d pings=%zu rtt_ms_median=%.3f rtt_ms_p90=%.3f "
            "enet_rtt_ms=%u bytes=%llu seconds=%.3f throughput_mbit_s=%.1f\n",
            netcore::to_string(path_), options_.plaintext ? 0 : 1, rtts_.size(), at(0.5), at(0.9),
            session_.stats().rtt_ms, static_cast<unsigned long long>(bytes), seconds,
            seconds > 0 ? static_cast<double>(bytes) * 8.0 / seconds / 1e6 : 0.0);
        std::fflush(stdout);
        session_.disconnect();
        // Let the goodbye go out before the socket closes.
        for (int i = 0; i < 50; ++i) {
            session_.update(Clock::now());
            netcore::Event e;
            while (session_.poll(e)) {
            }
            std::this_thread::sleep_for(2ms);
        }
        (void)now;
        done_ = true;
    }

    Options options_;
    netcore::Session session_;
    bool connected_ = false;
    bool done_ = false;
    bool failed_ = false;
    netcore::Path path_ = netcore::Path::none;
    std::uint64_t received_ = 0;
    std::uint64_t pings_done_ = 0;
    std::optional<TimePoint> ping_sent_;
    std::optional<TimePoint> bulk_started_;
    std::vector<double> rtts_;
};

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"ENet round trip and throughput over the path netcore finds"};
    Options o;
    std::string server;
    app.add_option("server", server, "Rendezvous host[:port]")->required();
    app.add_option("name", o.name, "Our name")->required();
    app.add_option("peer", o.peer, "Measure towards this peer (without it: be the responder)");
    app.add_option("--pings", o.pings, "Pings for the round trip")->check(CLI::Range(1, 100000));
    app.add_option("--bytes", o.bytes, "Bytes for the throughput")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 30));
    app.add_option("--size", o.size, "Packet size")
        ->check(CLI::Range(std::size_t{9}, std::size_t{60000}));
    app.add_option("--timeout", o.timeout_s, "Seconds for the whole run")
        ->check(CLI::Range(0.1, 3600.0));
    app.add_flag("--no-relay", o.no_relay, "lan or direct paths only");
    app.add_flag("--relay-only", o.relay_only, "the relay only (both sides must say so)");
    app.add_flag("--plaintext", o.plaintext,
                 "DEBUG ONLY: ENet's datagrams unsealed, to measure sealing's cost (both sides "
                 "must say so)");
    std::string server_key;
    app.add_option("--server-key", server_key,
                   "The rendezvous' public key, 64 hex digits (without it: trust on first use)")
        ->type_name("HEX");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    const auto address = netcore::resolve_address(server, 7777);
    if (!address) {
        std::fprintf(stderr, "bench_path: bad server address '%s'\n", server.c_str());
        return 1;
    }
    o.server = *address;
    if (app.count("--server-key") > 0) {
        o.server_key = netcore::parse_key(server_key);
        if (!o.server_key) {
            std::fprintf(stderr, "bench_path: bad --server-key '%s': expected 64 hex digits\n",
                         server_key.c_str());
            return 1;
        }
    }
    return Bench(o).run();
}
