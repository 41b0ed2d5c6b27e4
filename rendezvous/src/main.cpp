// rendezvous — command line: parse options, open the socket, poll until SIGINT or SIGTERM.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "log.hpp"
#if defined(RENDEZVOUS_HAVE_METRICS)
#include "metrics.hpp"
#endif
#include "netcore/address.hpp"
#include "netcore/keys.hpp"
#include "netcore/protocol.hpp"
#include "netcore/version.hpp"
#include "server.hpp"
#include "server_key.hpp"
#include "turn_credentials.hpp"

namespace {

// Set by the signal handler, read by the loop. The poll timeout bounds how late it is noticed.
volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_stop_signal(int) {
    g_stop = 1;
}

// The loop's longest wait: how long SIGINT/SIGTERM may go unnoticed, and the timers' jitter.
constexpr std::uint32_t kPollTimeoutMs = 100;

#if defined(RENDEZVOUS_HAVE_METRICS)
// How often the loop copies its counters to the metrics exporter: finer than any scrape interval,
// coarse enough to cost nothing under load.
constexpr auto kMetricsPublishInterval = std::chrono::milliseconds(100);
#endif

// Exit codes (docs/RENDEZVOUS.md).
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;  // bad arguments, a bad key file, or the socket could not be opened

// RFC 8656 §3.6 (TURN over UDP, the port coturn listens on unless told otherwise).
constexpr std::uint16_t kTurnDefaultPort = 3478;
// A secret file is a line, or a coturn configuration (Debian's is 29 KB): anything far larger is
// the wrong file, and reading on (from /dev/zero, say) would never end.
constexpr std::size_t kMaxSecretFileSize = 1 << 20;  // bytes

// Prints "rendezvous: <message>" as exactly one line, whatever the message holds.
void fail_line(std::string message) {
    for (auto& ch : message) {
        if (ch == '\n' || ch == '\r') ch = ' ';
    }
    while (!message.empty() && message.back() == ' ') message.pop_back();
    std::fprintf(stderr, "rendezvous: %s\n", message.c_str());
}

// Reads all of `path` into `out`. Returns an empty string, or why it could not.
std::string read_small_file(const std::string& path, std::string& out) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return std::strerror(errno);
    std::array<char, 4096> buffer{};
    std::string why;
    for (;;) {
        const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), f);
        out.append(buffer.data(), n);
        if (out.size() > kMaxSecretFileSize) {
            why = "larger than 1 MB";
            break;
        }
        if (n < buffer.size()) {
            if (std::ferror(f) != 0) why = std::strerror(errno);  // a directory: EISDIR
            break;
        }
    }
    std::fclose(f);
    return why;
}

// The TURN options into `turn`. Returns an empty string, or the one line to fail with.
std::string turn_config(const std::vector<std::string>& servers, const CLI::Option& secret_option,
                        const std::string& secret_file, const CLI::Option& ttl_option,
                        std::uint32_t ttl_s, rendezvous::TurnConfig& turn) {
    for (const auto& text : servers) {
        const auto address = netcore::parse_address(text, kTurnDefaultPort);
        if (!address) return "--turn-server: not an IPv4 address with an optional port: " + text;
        turn.servers.push_back(*address);
    }
    if (secret_option.count() > 0) {
        std::string text;
        if (const auto why = read_small_file(secret_file, text); !why.empty())
            return "--turn-secret-file: cannot read " + secret_file + ": " + why;
        std::string why;
        turn.secret = rendezvous::turn_secret_from(text, why);
        if (turn.secret.empty())
            return "--turn-secret-file: no secret in " + secret_file + ": " + why;
    }
    if (ttl_option.count() > 0 && servers.empty()) return "--turn-ttl needs --turn-server";
    turn.ttl = std::chrono::seconds(ttl_s);
    return {};
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"The netcore rendezvous server: names and introductions over UDP.", "rendezvous"};

    std::string bind = "0.0.0.0";
    std::uint16_t port = netcore::protocol::kDefaultPort;
    std::uint32_t refresh_ms = 15000;
    std::uint32_t expiry_ms = 45000;
    std::size_t max_names = 100000;
    std::string log_level = "info";
    std::uint32_t stats_interval_s = 0;
    std::uint16_t metrics_port = 0;
    std::string metrics_bind = "127.0.0.1";

    app.add_option("--bind", bind, "IPv4 address to listen on")->capture_default_str();
    app.add_option("--port", port, "UDP port to listen on (0: an ephemeral port)")
        ->capture_default_str();
    app.add_option("--refresh-ms", refresh_ms, "How often clients must re-register (ms)")
        ->capture_default_str();
    app.add_option("--expiry-ms", expiry_ms,
                   "A name is dropped this long after its last Register (ms)")
        ->capture_default_str();
    app.add_option("--max-names", max_names, "The most names held at once")->capture_default_str();
    // Limits (docs/RENDEZVOUS.md "Limits"); the defaults are the Config's.
    rendezvous::Config config;
    app.add_option("--max-introductions", config.max_introductions,
                   "The most introductions pending at once")
        ->capture_default_str();
    app.add_option("--max-introductions-per-ip", config.max_introductions_per_ip,
                   "The most of those that requests from one source IP made")
        ->capture_default_str();
    // Consent (docs/PROTOCOL.md §4.12): requests waiting for the asked player's consent.
    std::uint32_t request_ttl_ms = static_cast<std::uint32_t>(config.request_ttl.count());
    app.add_option("--request-ttl-ms", request_ttl_ms,
                   "A request waits for consent this long after its last ask (ms)")
        ->capture_default_str();
    app.add_option("--max-requests", config.requests.total,
                   "The most requests waiting for consent at once")
        ->capture_default_str();
    app.add_option("--max-requests-per-ip", config.requests.per_ip,
                   "The most requests waiting for consent from one source IP")
        ->capture_default_str();
    app.add_option("--max-requests-per-name", config.requests.per_name,
                   "The most requests waiting for consent by one name")
        ->capture_default_str();
    // Parties (docs/PROTOCOL.md §4.15).
    std::uint32_t party_ttl_ms = static_cast<std::uint32_t>(config.party_ttl.count());
    app.add_option("--max-party-members", config.parties.max_members,
                   "The most members of one party (2 to 16)")
        ->capture_default_str();
    app.add_option("--max-parties", config.parties.max_parties, "The most parties at once")
        ->capture_default_str();
    app.add_option("--max-parties-per-ip", config.parties.max_per_ip,
                   "The most parties alive that players at one source IP created")
        ->capture_default_str();
    app.add_option("--max-party-asks", config.parties.max_asks,
                   "The most join asks waiting for the host of one party")
        ->capture_default_str();
    app.add_option("--party-ttl-ms", party_ttl_ms,
                   "A party member is dropped this long after its last PartyJoin (ms)")
        ->capture_default_str();
    app.add_option("--rate", config.limits.rate, "Datagrams a second accepted per source IP")
        ->capture_default_str();
    app.add_option("--burst", config.limits.burst, "Datagrams at once accepted per source IP")
        ->capture_default_str();
    app.add_option("--answer-rate", config.limits.answer_rate,
                   "Answers larger than their request, a second per source IP")
        ->capture_default_str();
    app.add_option("--answer-burst", config.limits.answer_burst,
                   "Answers larger than their request, at once per source IP")
        ->capture_default_str();
    app.add_option("--max-sources", config.limits.max_sources,
                   "Source IPs the rate limiter remembers (the oldest is forgotten)")
        ->capture_default_str();
    // TURN relays (docs/RENDEZVOUS.md, Options; docs/OPERATIONS.md). The secret is read from a
    // file only: on the command line it would show in `ps` and in the unit file.
    std::vector<std::string> turn_servers;
    std::string turn_secret_file;
    std::uint32_t turn_ttl_s = static_cast<std::uint32_t>(config.turn.ttl.count());
    app.add_option("--turn-server", turn_servers,
                   "A TURN server to grant relays on, IPv4[:PORT] (port 3478 if omitted); "
                   "repeat for a second one")
        ->allow_extra_args(false);
    auto* secret_option =
        app.add_option("--turn-secret-file", turn_secret_file,
                       "File with the TURN servers' static-auth-secret: the secret alone, or a "
                       "coturn config file (its static-auth-secret= line); read once at start");
    auto* ttl_option =
        app.add_option("--turn-ttl", turn_ttl_s,
                       "How long the TURN credentials handed out are valid (s, 1 to 3600); "
                       "clients renew them while their session lives")
            ->capture_default_str();
    bool no_standing = false;
    app.add_flag("--no-standing-relays", no_standing,
                 "Refuse standing relays (clients' Config::standing_relay): relays are then "
                 "allocated per introduction only, never held by idle registered players");
    app.add_option("--grant-rate", config.grants.ip_rate,
                   "TURN credentials (grants and renewals) a second per source IP")
        ->capture_default_str();
    app.add_option("--grant-burst", config.grants.ip_burst,
                   "TURN credentials at once per source IP")
        ->capture_default_str();
    app.add_option("--name-grant-rate", config.grants.name_rate,
                   "TURN credentials (grants and renewals) a second per name")
        ->capture_default_str();
    app.add_option("--name-grant-burst", config.grants.name_burst,
                   "TURN credentials at once per name")
        ->capture_default_str();
    // The server's long-term key (docs/RENDEZVOUS.md "The key file"): game builds pin its public
    // half, so it must outlive restarts; without a file, each run makes a new one.
    std::string key_file;
    auto* key_file_option = app.add_option(
        "--key-file", key_file,
        "File holding the server's secret key (created, mode 0600, if missing); game builds pin "
        "its public key. Without it the key changes on every start");
    bool print_public_key = false;
    app.add_flag("--print-public-key", print_public_key,
                 "With --key-file: print the public key (64 hex digits) on stdout and exit, "
                 "creating the file if missing");
    // Owned names (docs/RENDEZVOUS.md "Owned names"): bindings outlive their owners' runs.
    std::string names_file;
    std::uint64_t name_hold_s = static_cast<std::uint64_t>(config.name_hold.count());
    app.add_option("--names-file", names_file,
                   "File keeping owned names across restarts (read at start, created mode 0600, "
                   "rewritten atomically when they change); without it they live in memory");
    app.add_option("--name-hold", name_hold_s,
                   "How long an owned name stays bound after its owner was last seen (s)")
        ->capture_default_str();
    app.add_option("--max-owned-names", config.max_owned_names,
                   "The most owned names bound at once")
        ->capture_default_str();
    app.add_option("--log-level", log_level, "error, warn, info or debug")
        ->check(CLI::IsMember({"error", "warn", "info", "debug"}))
        ->capture_default_str();
    app.add_option("--stats-interval", stats_interval_s,
                   "Print a stats line every N seconds (0: off)")
        ->capture_default_str();
    auto* metrics_option = app.add_option(
        "--metrics-port", metrics_port,
        "Serve Prometheus metrics over HTTP on this TCP port (0: an ephemeral port)");
    app.add_option("--metrics-bind", metrics_bind, "IPv4 address the metrics are served on")
        ->capture_default_str();
    app.set_version_flag("--version", "rendezvous " NETCORE_VERSION);

    try {
        app.parse(argc, argv);
    } catch (const CLI::Success& e) {
        return app.exit(e);  // --help or --version: printed to stdout, exit 0
    } catch (const CLI::ParseError& e) {
        // CLI11 would print several lines and exit with its own codes; we promise one line, exit 1.
        fail_line(std::string(e.what()) + " (see --help)");
        return kExitFailure;
    }

    config.refresh = std::chrono::milliseconds(refresh_ms);
    config.expiry = std::chrono::milliseconds(expiry_ms);
    config.request_ttl = std::chrono::milliseconds(request_ttl_ms);
    config.party_ttl = std::chrono::milliseconds(party_ttl_ms);
    config.max_names = max_names;
    config.names_file = names_file;
    config.name_hold = std::chrono::seconds(
        static_cast<std::int64_t>(std::min<std::uint64_t>(name_hold_s, INT64_MAX / 2)));
    if (const auto why = turn_config(turn_servers, *secret_option, turn_secret_file, *ttl_option,
                                     turn_ttl_s, config.turn);
        !why.empty()) {
        fail_line(why);
        return kExitFailure;
    }
    config.turn.standing = !no_standing;
    if (const auto why = rendezvous::validate(config); !why.empty()) {
        fail_line(why);
        return kExitFailure;
    }
    // An IPv4 literal; the port has its own option. (parse_address wants a non-zero default.)
    const auto bind_address =
        bind.find(':') == std::string::npos ? netcore::parse_address(bind, 1) : std::nullopt;
    if (!bind_address) {
        fail_line("--bind: not an IPv4 address: " + bind);
        return kExitFailure;
    }

    // The key before anything is opened: --print-public-key opens nothing, and a bad key file
    // fails the start before the port is taken.
    if (print_public_key && key_file_option->count() == 0) {
        fail_line("--print-public-key needs --key-file");
        return kExitFailure;
    }
    rendezvous::ServerKey server_key;
    bool key_created = false;
    if (key_file_option->count() > 0) {
        std::string why;
        auto loaded = rendezvous::load_or_create_key(key_file, &key_created, &why);
        if (!loaded) {
            fail_line("--key-file: " + why);
            return kExitFailure;
        }
        server_key = *loaded;
        if (key_created)
            std::fprintf(stderr, "rendezvous: created key file %s\n", key_file.c_str());
    } else {
        server_key = rendezvous::make_ephemeral_key();
    }
    const std::string public_key_hex = netcore::to_hex(server_key.public_key);
    if (print_public_key) {
        std::printf("%s\n", public_key_hex.c_str());
        return kExitOk;
    }

    const auto level = rendezvous::parse_log_level(log_level).value_or(rendezvous::LogLevel::info);
    const rendezvous::Log log(level, rendezvous::stderr_sink());
    // Stats lines are printed whatever the level: asking for them is asking to see them.
    const auto print_stats = [sink = rendezvous::stderr_sink()](const rendezvous::Server& s) {
        sink(rendezvous::LogLevel::info, rendezvous::to_string(s.counters()));
    };

    const bool want_metrics = metrics_option->count() > 0;
#if defined(RENDEZVOUS_HAVE_METRICS)
    rendezvous::Metrics metrics;
    if (want_metrics) {
        if (const auto why = metrics.open(metrics_bind, metrics_port); !why.empty()) {
            fail_line(why);
            return kExitFailure;
        }
    }
#else
    if (want_metrics) {
        fail_line("--metrics-port: this build has no metrics (prometheus-cpp was not found)");
        return kExitFailure;
    }
#endif

    config.secret_key = server_key.secret_key;
    rendezvous::Server server(config, log);
    if (!server.names_error().empty()) {
        fail_line("--names-file: " + server.names_error());
        return kExitFailure;
    }
    std::string error;
    if (!server.open(netcore::Address{bind_address->ip, port}, &error)) {
        fail_line(error);
        return kExitFailure;
    }
    // Before announcing the port, so that whoever read the line can already stop us cleanly.
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    if (key_file_option->count() == 0) {
        std::fprintf(stderr,
                     "rendezvous: warning: no --key-file: this run's key is ephemeral, so clients "
                     "pinning it must pin a new key after every restart\n");
    }
    // The banner: scripts read the port (the number after the last ':') and the key after "key".
    std::fprintf(stderr, "rendezvous: listening on %s key %s\n",
                 server.local_address().to_string().c_str(), public_key_hex.c_str());
    if (!config.turn.servers.empty()) {
        std::string servers;
        for (const auto& a : config.turn.servers)
            servers += (servers.empty() ? "" : ", ") + a.to_string();
        std::fprintf(stderr, "rendezvous: granting TURN relays on %s (credentials valid %lld s)\n",
                     servers.c_str(), static_cast<long long>(config.turn.ttl.count()));
    }
#if defined(RENDEZVOUS_HAVE_METRICS)
    if (want_metrics) {
        std::fprintf(stderr, "rendezvous: metrics on http://%s:%u/metrics\n", metrics_bind.c_str(),
                     unsigned{metrics.port()});
    }
#endif

    using Clock = std::chrono::steady_clock;
    const auto stats_every = std::chrono::seconds(stats_interval_s);
    auto next_stats = Clock::now() + stats_every;
    [[maybe_unused]] auto next_publish = Clock::now();
    while (g_stop == 0) {
        const auto now = Clock::now();
        server.poll(kPollTimeoutMs, now);
#if defined(RENDEZVOUS_HAVE_METRICS)
        if (want_metrics && now >= next_publish) {
            metrics.publish(server.counters());
            next_publish = now + kMetricsPublishInterval;
        }
#endif
        if (stats_interval_s > 0 && now >= next_stats) {
            print_stats(server);
            next_stats = now + stats_every;
        }
    }
    // The bindings made since the last periodic write (at most a few seconds' worth).
    if (const auto why = server.flush_names(); !why.empty()) {
        print_stats(server);
        return kExitFailure;  // logged by the server
    }
    print_stats(server);
    return kExitOk;
}
