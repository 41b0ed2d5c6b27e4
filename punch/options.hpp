// punch — the command line, parsed and validated before anything touches the network.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "netcore/address.hpp"
#include "netcore/keys.hpp"
#include "netcore/ticket.hpp"

namespace punch {

/// Exit codes, for scripts (also listed in --help).
enum ExitCode : int {
    kExitOk = 0,         ///< the exchange ended normally, or --help / --version
    kExitUsage = 1,      ///< bad arguments, or an input line over the limit
    kExitFailure = 2,    ///< no connection (timeout, server unreachable, name taken, punch
                         ///< failed...) or the connection broke
    kExitSigint = 130,   ///< 128 + SIGINT
    kExitSigterm = 143,  ///< 128 + SIGTERM
};

struct Options {
    netcore::Address server;
    std::string server_text;  ///< as typed, for messages
    std::string name;
    std::optional<std::string> peer;  ///< none: wait to be reached
    /// --party: join this party instead of asking for a peer (never both).
    std::optional<std::string> party;
    /// --admit (with --party): create an admit-party, whose host lets in only the players it
    /// admits (PartyOptions::admit).
    bool admit = false;
    /// --accept: the players who may reach us (Consent::list). Empty: with a peer, only that
    /// peer (mutual); without one, anyone (an open host). With --party (and --admit): the
    /// players we admit while we are the party's host.
    std::vector<std::string> accept;
    std::chrono::milliseconds timeout{30'000};                ///< 0: wait for a connection forever
    std::optional<std::chrono::milliseconds> punch_timeout;   ///< none: netcore's default
    std::optional<std::chrono::milliseconds> stats_interval;  ///< none: no stats lines
    std::uint16_t local_port = 0;
    bool quiet = false;
    bool exit_on_eof = false;     ///< leave at EOF without waiting for the peer's end
    bool use_relay = true;        ///< Config::use_relay (--no-relay)
    bool standing_relay = false;  ///< Config::standing_relay (--standing-relay)
    bool hide_address = false;    ///< Config::hide_address (--hide-address)
    std::optional<netcore::PublicKey> server_key;  ///< --server-key; none: trust on first use
    std::optional<netcore::SecretKey> name_key;    ///< --name-key: owns our name (§4.13)
    std::string name_key_created;                  ///< the --name-key file, if this run created it
    /// --ticket FILE: where the resumption ticket is kept (read at start, written once
    /// registered); empty: none.
    std::string ticket_file;
    std::optional<netcore::ResumeTicket> ticket;  ///< what the file held, when it held one
};

/// What the command line asked for: run with Options, or exit now with a code (help and
/// version already printed to stdout, an error already printed to stderr as one line).
using ParseResult = std::variant<Options, int>;

[[nodiscard]] ParseResult parse_options(int argc, const char* const* argv);

}  // namespace punch
