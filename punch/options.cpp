// punch — command-line parsing with CLI11; every failure is one line on stderr.
#include "options.hpp"

#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <string_view>

#include "netcore/keys.hpp"
#include "netcore/protocol.hpp"
#include "netcore/version.hpp"
#include "ticket_file.hpp"

namespace punch {
namespace {

constexpr double kMaxSeconds = 7 * 24 * 3600.0;  // a week: longer is a typo, and stays in range

std::chrono::milliseconds to_ms(double seconds) {
    return std::chrono::milliseconds(std::llround(seconds * 1000.0));
}

// CLI11's messages are mostly one line; make sure, since scripts read exactly one.
std::string one_line(std::string_view text) {
    std::string out;
    for (const char c : text) out.push_back(c == '\n' || c == '\r' ? ' ' : c);
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

// A number of seconds in [min, kMaxSeconds]; CLI11's Range says "not in range" even for "abc".
CLI::Validator seconds(double min) {
    return CLI::Validator(
        [min](std::string& text) -> std::string {
            double value = 0.0;
            if (!CLI::detail::lexical_cast(text, value) || !std::isfinite(value) || value < min ||
                value > kMaxSeconds) {
                char buf[160];
                std::snprintf(buf, sizeof buf, "'%s' is not a number of seconds from %g to %g",
                              text.c_str(), min, kMaxSeconds);
                return buf;
            }
            return {};
        },
        "");
}

int usage_error(std::string_view message) {
    std::cerr << "punch: " << one_line(message) << " (try punch --help)\n";
    return kExitUsage;
}

const char* const kFooter = R"(
Once connected, each line of stdin goes to the peer (reliable, ordered) and each line from
the peer goes to stdout. At the end of stdin punch tells the peer, and leaves once the peer's
input has ended too (or at once with --exit-on-eof, after its own lines are acknowledged).
Progress goes to stderr, one line per phase.

With --party NAME, punch joins the party instead: each line of stdin goes to every member
connected then, each line from a member is printed as "member: line", and progress says who
joined, connected, failed or left, and who hosts. At the end of stdin punch leaves the party
(after its lines have gone out) and exits 0.

Exit codes: 0 the exchange ended (or the peer left), 1 bad arguments or a line over 64 KiB,
2 no connection or the connection broke, 130/143 interrupted by SIGINT/SIGTERM.)";

}  // namespace

ParseResult parse_options(int argc, const char* const* argv) {
    CLI::App app{"punch: talk to a peer through NATs via a netcore rendezvous server", "punch"};
    app.footer(kFooter);
    app.set_version_flag("--version", std::string("punch ") + NETCORE_VERSION);

    std::string server;
    std::string name;
    std::string peer;
    double timeout_s = 30.0;
    double punch_timeout_s = 0.0;
    double stats_s = 0.0;
    int port = 0;
    bool quiet = false;
    bool exit_on_eof = false;
    bool no_relay = false;
    bool standing_relay = false;
    bool hide_address = false;
    std::string server_key;
    std::string name_key_file;
    std::string ticket_file;
    std::vector<std::string> accept;
    std::string party;
    bool admit = false;

    app.add_option("server", server, "Rendezvous server, host[:port] (port 7777 by default)")
        ->required();
    app.add_option("name", name, "Our name at the rendezvous: 1-32 of A-Z a-z 0-9 _ . -")
        ->required();
    app.add_option("peer", peer, "The peer to connect to; without it, wait to be reached");
    app.add_option("--party", party,
                   "Join the party NAME (created when nobody is in it) instead of asking for a "
                   "peer: lines go to every connected member, and each line received is "
                   "printed as 'member: line'")
        ->type_name("NAME");
    app.add_flag("--admit", admit,
                 "With --party, when creating the party: its host admits who joins (the names "
                 "given with --accept; others are refused)");
    app.add_option("--timeout", timeout_s,
                   "Seconds to wait for a connection, with --party to be a member (0: forever)")
        ->check(seconds(0.0))
        ->type_name("SECONDS")
        ->capture_default_str();
    auto* punch_opt = app.add_option("--punch-timeout", punch_timeout_s,
                                     "Seconds of hole punching before giving up (default 10)")
                          ->check(seconds(0.001))
                          ->type_name("SECONDS");
    auto* stats_opt =
        app.add_option("--stats", stats_s,
                       "While connected, print a stats line every SECONDS: path, ENet's "
                       "round-trip time and loss, bytes on the socket")
            ->check(seconds(0.001))
            ->type_name("SECONDS");
    app.add_option("--port", port, "Local UDP port (0: any)")
        ->check(CLI::Range(0, 65535).description(""))
        ->type_name("PORT")
        ->capture_default_str();
    app.add_option("--server-key", server_key,
                   "The rendezvous' public key (rendezvous --print-public-key), 64 hex digits; "
                   "without it, the key the server shows first is trusted")
        ->type_name("HEX");
    app.add_option("--name-key", name_key_file,
                   "File with the owner key of our name (64 hex digits; created, mode 0600, if "
                   "missing): the rendezvous keeps the name for this key while we are away, and "
                   "gives it back at once after a crash")
        ->type_name("FILE");
    app.add_option("--ticket", ticket_file,
                   "File with a resumption ticket: read at start (a file that holds none is "
                   "ignored with a warning), written once registered. A run from the same --port "
                   "(and so the same public address) within 30 s or so of the last registers "
                   "without the Challenge round trip")
        ->type_name("FILE");
    app.add_option("--accept", accept,
                   "Let NAME reach us (repeat for more): only the listed players (and the peer "
                   "we name) are introduced to us; without it, anyone when no peer is named. "
                   "With --party --admit: the players we admit while we host the party")
        ->type_name("NAME")
        ->allow_extra_args(false);
    app.add_flag("--no-relay", no_relay,
                 "Do not use a TURN relay even when the rendezvous grants one (direct or lan "
                 "paths only)");
    app.add_flag("--standing-relay", standing_relay,
                 "Hold a TURN relay while registered, so a peer that must relay to us gets its "
                 "address with the introduction (one TURN allocation per registered player)");
    app.add_flag("--hide-address", hide_address,
                 "Keep our addresses from the peer: the rendezvous makes our introductions "
                 "relay-only (needs a rendezvous that grants TURN relays)");
    app.add_flag("-q,--quiet", quiet, "No progress on stderr (errors still)");
    app.add_flag("--exit-on-eof", exit_on_eof,
                 "At the end of stdin, leave once our lines are acknowledged, without waiting "
                 "for the peer's input to end (lines it still sends are lost)");

    try {
        app.parse(argc, argv);
    } catch (const CLI::Success& e) {
        return app.exit(e);  // --help or --version: printed to stdout, exit 0
    } catch (const CLI::ParseError& e) {
        return usage_error(e.what());
    }

    Options options;
    options.server_text = server;
    std::string unresolved;
    const auto address =
        netcore::resolve_address(server, netcore::protocol::kDefaultPort, &unresolved);
    if (!address || address->ip == 0)
        return usage_error("bad server address '" + server +
                           "': " + (address ? "0.0.0.0 is no server" : unresolved));
    options.server = *address;
    if (app.count("--server-key") > 0) {
        options.server_key = netcore::parse_key(server_key);
        if (!options.server_key)
            return usage_error("bad --server-key '" + server_key + "': expected 64 hex digits");
    }

    if (!netcore::protocol::valid_name(name))
        return usage_error("invalid name '" + name + "': use 1 to 32 of A-Z a-z 0-9 _ . -");
    options.name = name;
    const bool in_party = app.count("--party") > 0;
    if (in_party) {
        if (!netcore::protocol::valid_name(party))
            return usage_error("invalid party name '" + party +
                               "': use 1 to 32 of A-Z a-z 0-9 _ . -");
        if (!peer.empty() || app.count("peer") > 0)
            return usage_error("--party joins a party: name no peer with it (got '" + peer + "')");
        options.party = party;
    }
    if (admit && !in_party) return usage_error("--admit needs --party");
    if (in_party && !accept.empty() && !admit)
        return usage_error("--accept with --party names the players we admit: it needs --admit");
    options.admit = admit;
    if (!peer.empty() || app.count("peer") > 0) {
        if (!netcore::protocol::valid_name(peer))
            return usage_error("invalid peer name '" + peer +
                               "': use 1 to 32 of A-Z a-z 0-9 _ . -");
        if (peer == name) return usage_error("the peer's name is our own: '" + peer + "'");
        options.peer = peer;
    }

    for (const auto& a : accept) {
        if (!netcore::protocol::valid_name(a))
            return usage_error("invalid --accept name '" + a +
                               "': use 1 to 32 of A-Z a-z 0-9 _ . -");
        if (a == name) return usage_error("--accept names our own name: '" + a + "'");
    }
    options.accept = accept;

    options.timeout = to_ms(timeout_s);
    if (timeout_s > 0.0 && options.timeout.count() == 0)
        options.timeout = std::chrono::milliseconds(1);
    if (punch_opt->count() > 0) options.punch_timeout = to_ms(punch_timeout_s);
    if (stats_opt->count() > 0) options.stats_interval = to_ms(stats_s);
    options.local_port = static_cast<std::uint16_t>(port);
    options.quiet = quiet;
    options.exit_on_eof = exit_on_eof;
    options.use_relay = !no_relay;
    options.standing_relay = standing_relay;
    options.hide_address = hide_address;
    options.ticket_file = ticket_file;
    if (!ticket_file.empty()) {
        std::string warning;
        options.ticket = load_ticket(ticket_file, warning);
        if (!warning.empty()) std::cerr << "punch: warning: " << one_line(warning) << "\n";
    }
    // Last: every other argument is valid before a key file is created.
    if (app.count("--name-key") > 0) {
        netcore::KeyFile file = netcore::load_or_create_key_file(name_key_file);
        if (!file.key) return usage_error("--name-key: " + file.error);
        options.name_key = file.key;
        if (file.created) options.name_key_created = name_key_file;
    }
    return options;
}

}  // namespace punch
