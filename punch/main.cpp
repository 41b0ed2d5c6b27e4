// punch — a command-line netcore client for scripts and operators.
//
//   punch [options] <server[:port]> <name> [peer]
//   punch [options] --party PARTY <server[:port]> <name>
//
// Registers `name` at the rendezvous; with `peer` asks to be introduced to it, otherwise waits to
// be reached. Once connected, stdin lines go to the peer and the peer's lines go to stdout.
// With --party it joins the party instead: stdin lines go to every connected member, and each
// member's lines go to stdout prefixed with its name; one member's failure ends nothing else.
//
// One thread, no busy loop: poll() on stdin for at most kFrame, then Session::update() and drain
// Session::poll(), as a game would once a frame.
//
// The end of stdin is a half-close, as in `nc -N`: punch sends the one-byte kEndOfInput message
// after its last line and keeps printing what the peer sends; it disconnects once the peer's input
// has ended too (or the peer disconnects). Disconnecting at our own EOF would lose the peer's
// lines still in flight: ENet drops incoming data once a peer is disconnecting.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>
#include <unordered_set>

#include "line_io.hpp"
#include "netcore/session.hpp"
#include "options.hpp"
#include "ticket_file.hpp"

namespace {

using netcore::Clock;
using netcore::Error;
using netcore::TimePoint;
using namespace std::chrono_literals;
using punch::Options;

constexpr auto kFrame = 10ms;           // longest wait in poll(): the update rate when idle
constexpr auto kCloseBound = 15s;       // for the peer to acknowledge our disconnect
constexpr auto kSignalCloseBound = 2s;  // the same after SIGINT/SIGTERM: leave soon
constexpr auto kForever = std::chrono::duration_cast<netcore::Duration>(24h * 365);
constexpr std::size_t kReadChunk = 64 * 1024;  // bytes read from stdin per frame

volatile std::sig_atomic_t g_signal = 0;

extern "C" void on_signal(int signo) {
    if (g_signal != 0) _exit(128 + signo);  // a second signal: leave now
    g_signal = signo;
}

void install_signal_handlers() {
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: poll() returns EINTR at once
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    // A closed stdout shows up as EPIPE from write(), handled like any write error.
    std::signal(SIGPIPE, SIG_IGN);
}

// If punch is started with fd 0, 1 or 2 closed, the UDP socket would take that number and stdin
// or stdout would alias it. Park /dev/null there instead.
void ensure_standard_fds() {
    for (int fd = 0; fd <= 2; ++fd) {
        if (fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
            const int opened = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
            if (opened != fd && opened >= 0) close(opened);
        }
    }
}

bool write_all(int fd, const std::string& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
}

void say(const std::string& line) {
    write_all(2, "punch: " + line + "\n");
}

std::string seconds_text(netcore::Duration d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", static_cast<double>(d.count()) / 1000.0);
    return buf;
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

class Chat {
  public:
    explicit Chat(Options options) : options_(std::move(options)), session_(make_config()) {
        if (options_.peer) peer_ = *options_.peer;
    }

    int run();

  private:
    enum class Phase { connecting, connected, closing, done };

    netcore::Config make_config() const;
    void frame();
    void handle(const netcore::Event& event);
    void keep_ticket();
    void handle_error(const netcore::Event& event);
    void handle_party(const netcore::Event& event);
    void handle_party_error(const netcore::Event& event);
    void handle_party_disconnect(const netcore::Event& event);
    void check_deadlines(TimePoint now);
    void report_stats(TimePoint now);
    void check_signal();
    void pump_stdin(int timeout_ms);
    void read_stdin();
    void send_lines();
    void after_lines();
    void send_end_of_input();
    void print(const netcore::Event& event);
    void print_from_member(const netcore::Event& event);
    void leave_at_end_of_input();
    void report_party_stats();
    [[nodiscard]] bool party_mode() const { return options_.party.has_value(); }
    [[nodiscard]] bool any_member_connected() const;
    [[nodiscard]] std::string member_name(const netcore::Event& event) const;

    void progress(const std::string& line) const {
        if (!options_.quiet) say(line);
    }
    std::string failure_sentence(Error e) const { return failure_sentence(e, peer_text()); }
    // The sentence netcore queued with a call it refused (every refusal queues one).
    std::string refusal(Error e) {
        netcore::Event event;
        while (session_.poll(event))
            if (event.type == netcore::EventType::error && event.error == e) return event.detail;
        return failure_sentence(e);
    }
    std::string failure_sentence(Error e, const std::string& peer) const;
    void fail(const std::string& sentence, Error e) {
        fail_line(sentence + " (" + to_string(e) + ")");
    }
    void fail_line(const std::string& line) {
        say(line);
        finish(punch::kExitFailure);
    }
    void begin_close(int code, netcore::Duration bound);
    void finish(int code) {
        exit_code_ = code;
        phase_ = Phase::done;
    }
    std::string peer_text() const { return peer_.empty() ? std::string("the peer") : peer_; }

    Options options_;
    netcore::Session session_;
    Phase phase_ = Phase::connecting;
    int exit_code_ = punch::kExitOk;
    int close_code_ = punch::kExitOk;
    TimePoint connect_deadline_{};
    TimePoint close_deadline_{};
    std::string peer_;  // asked for, or learnt from the introduction
    bool registered_ = false;
    bool stdin_open_ = true;
    bool sent_end_ = false;
    bool peer_ended_ = false;
    bool stdout_ok_ = true;  // false after a write error: later lines are dropped
    punch::LineSplitter lines_;
    std::array<char, kReadChunk> read_buffer_{};

    TimePoint next_stats_{};  // --stats: when the next stats line is due (while connected)

    // --party: in the party (the server listed us); the connections that got as far as
    // connected (to tell a failed start from a lost connection); players who asked to join
    // the party we host, reported once each (the server re-sends the question while they ask).
    bool ticket_saved_ = false;   // --ticket: written once, at the first registration
    bool standing_told_ = false;  // --standing-relay: "standing relay ready" said
    bool joined_ = false;
    std::unordered_set<netcore::PeerId> ever_connected_;
    std::unordered_set<std::string> join_askers_;
};

netcore::Config Chat::make_config() const {
    netcore::Config config;
    config.server = options_.server;
    config.name = options_.name;
    config.local_port = options_.local_port;
    // With a peer named, only that peer: nobody else can take the session over. --accept: the
    // listed players too (or only them, without a peer). In a party, its members only (joining
    // is consent to them); --accept then names whom we admit as its host, not a consent list.
    if (options_.party) {
        config.consent = netcore::Consent::mutual;
    } else if (!options_.accept.empty()) {
        config.consent = netcore::Consent::list;
        config.accept_from = options_.accept;
    } else {
        config.consent =
            options_.peer.has_value() ? netcore::Consent::mutual : netcore::Consent::open;
    }
    if (options_.punch_timeout) config.punch_timeout = *options_.punch_timeout;
    config.use_relay = options_.use_relay;
    config.standing_relay = options_.standing_relay;
    config.hide_address = options_.hide_address;
    config.server_key = options_.server_key;
    config.name_key = options_.name_key;
    config.resume = options_.ticket;
    return config;
}

int Chat::run() {
    const TimePoint start = Clock::now();
    connect_deadline_ = start + options_.timeout;
    if (const Error e = session_.start(start); e != Error::none) {
        fail(refusal(e), e);
        return exit_code_;
    }
    if (options_.peer) {
        // netcore's wait ends with ours (same start), so our deadline check, which runs
        // first, reports it; with --timeout 0 netcore's is just far away.
        const netcore::Duration wait = options_.timeout.count() > 0 ? options_.timeout : kForever;
        if (const Error e = session_.connect(*options_.peer, wait, start); e != Error::none) {
            fail(refusal(e), e);
            return exit_code_;
        }
    }
    if (options_.party) {
        netcore::PartyOptions party_options;
        party_options.admit = options_.admit;
        if (const Error e = session_.join_party(*options_.party, party_options, start);
            e != Error::none) {
            fail(refusal(e), e);
            return exit_code_;
        }
    }
    while (phase_ != Phase::done) frame();
    // Connections still up (a failure of ours ended the run) hear a goodbye; netcore bounds it
    // (Config::close_linger).
    session_.close();
    for (netcore::Event event; session_.state() != netcore::State::closed;) {
        pump_stdin(static_cast<int>(kFrame.count()));
        session_.update(Clock::now());
        while (session_.poll(event)) {
        }
    }
    return exit_code_;
}

void Chat::frame() {
    check_signal();
    if (phase_ == Phase::done) return;
    const TimePoint now = Clock::now();
    check_deadlines(now);
    if (phase_ == Phase::done) return;
    session_.update(now);
    netcore::Event event;
    while (phase_ != Phase::done && session_.poll(event)) handle(event);
    if (phase_ == Phase::done) return;
    // Leaving a party: done once every connection has ended (netcore drops ended ones).
    if (party_mode() && phase_ == Phase::closing && session_.peers().empty()) {
        finish(close_code_);
        return;
    }
    report_stats(now);
    if (options_.standing_relay && !standing_told_) {
        const netcore::Stats s = session_.stats();
        if (s.relay_standing && s.relay_allocated) {
            standing_told_ = true;
            progress("standing relay ready");
        }
    }
    pump_stdin(static_cast<int>(kFrame.count()));
}

// --stats: one line every interval while connected, the first one interval after connecting.
// Printed even with --quiet, like the rendezvous' stats lines: asking for them is asking to see
// them. Keys as in the rendezvous' "stats:" line; bytes are all traffic on the socket.
void Chat::report_stats(TimePoint now) {
    if (!options_.stats_interval || phase_ != Phase::connected) return;
    if (next_stats_ == TimePoint{}) next_stats_ = now + *options_.stats_interval;
    if (now < next_stats_) return;
    next_stats_ = now + *options_.stats_interval;
    if (party_mode()) {
        report_party_stats();
        return;
    }
    const netcore::Stats s = session_.stats();
    char loss[32];
    std::snprintf(loss, sizeof loss, "%.3f", static_cast<double>(s.packet_loss));
    say("stats: path=" + std::string(netcore::to_string(session_.path())) + " rtt_ms=" +
        std::to_string(s.rtt_ms) + " loss=" + loss + " bytes_sent=" + std::to_string(s.bytes_sent) +
        " bytes_received=" + std::to_string(s.bytes_received));
}

void Chat::check_signal() {
    const int signo = g_signal;
    if (signo == 0 || phase_ == Phase::done) return;
    const int code = signo == SIGINT ? punch::kExitSigint : punch::kExitSigterm;
    if (phase_ == Phase::connected && party_mode()) {
        progress("interrupted; leaving party " + *options_.party);
        begin_close(code, kSignalCloseBound);
    } else if (phase_ == Phase::connected) {
        progress(std::string("interrupted; disconnecting from ") + peer_text());
        begin_close(code, kSignalCloseBound);
    } else if (phase_ == Phase::connecting) {
        progress("interrupted");
        finish(code);
    } else if (close_code_ == punch::kExitOk) {
        close_code_ = code;  // already closing: keep closing, but report the signal
    }
}

void Chat::check_deadlines(TimePoint now) {
    if (party_mode() && phase_ == Phase::connecting && options_.timeout.count() > 0 &&
        now >= connect_deadline_) {
        // Registered but not listed: the server has not answered the join, or the party's host
        // has not admitted us.
        const std::string reason =
            registered_ ? std::string("not a member yet (an admit-party's host must admit us)")
                        : std::string(to_string(Error::server_unreachable));
        fail_line("not in party " + *options_.party + " within " + seconds_text(options_.timeout) +
                  " s: " + reason);
    } else if (party_mode() && phase_ == Phase::closing && now >= close_deadline_) {
        const std::size_t left = session_.peers().size();
        say("warning: " + std::to_string(left) + (left == 1 ? " member" : " members") +
            " did not acknowledge our leaving within " +
            seconds_text(std::chrono::duration_cast<netcore::Duration>(kCloseBound)) + " s");
        finish(close_code_);
    } else if (phase_ == Phase::connecting && options_.timeout.count() > 0 &&
               now >= connect_deadline_) {
        std::string reason;
        // Never registered: whatever state netcore is in, the server did not answer.
        const auto state = registered_ ? session_.state() : netcore::State::registering;
        switch (state) {
            case netcore::State::registering:
                reason = to_string(Error::server_unreachable);
                break;
            case netcore::State::waiting:
                reason = to_string(Error::peer_not_online);
                break;
            case netcore::State::registered:
                reason = options_.peer ? to_string(Error::peer_not_online)
                                       : "nobody asked for " + options_.name;
                break;
            case netcore::State::punching:
                reason = to_string(Error::punch_failed);
                break;
            case netcore::State::connecting:
                reason = to_string(Error::connect_failed);
                break;
            default:
                reason = to_string(session_.state());
                break;
        }
        const std::string whom = options_.peer ? " to " + *options_.peer : std::string();
        fail_line("no connection" + whom + " within " + seconds_text(options_.timeout) +
                  " s: " + reason);
    } else if (phase_ == Phase::closing && now >= close_deadline_) {
        if (close_code_ != punch::kExitOk) {
            finish(close_code_);  // leaving on a signal or an error already reported
        } else {
            fail(peer_text() + " did not acknowledge the end within " +
                     seconds_text(std::chrono::duration_cast<netcore::Duration>(kCloseBound)) +
                     " s",
                 Error::peer_timed_out);
        }
    }
}

// --ticket: the next run from the same port registers without the Challenge round trip. A file
// we cannot write costs that round trip next time, not this run: a warning, not a failure.
void Chat::keep_ticket() {
    ticket_saved_ = true;
    if (options_.ticket_file.empty()) return;
    if (session_.stats().resumed) progress("registered on the ticket: no Challenge round trip");
    const auto ticket = session_.resume_ticket();
    std::string error;
    if (ticket && !punch::save_ticket(options_.ticket_file, *ticket, error))
        std::fprintf(stderr, "punch: warning: %s\n", error.c_str());
}

void Chat::handle(const netcore::Event& event) {
    using netcore::EventType;
    if (event.type == EventType::registered && !ticket_saved_) keep_ticket();
    if (party_mode()) {
        handle_party(event);
        return;
    }
    switch (event.type) {
        case EventType::registered:
            if (registered_) break;  // a refresh, if netcore reports those
            registered_ = true;
            progress("registered as " + options_.name + " (public " + event.address.to_string() +
                     ")");
            if (!options_.peer) progress("waiting for a peer to ask for " + options_.name);
            break;
        case EventType::waiting_for_peer:
            progress("waiting for " + (event.peer.empty() ? peer_text() : event.peer) +
                     " to come online");
            break;
        case EventType::introduced:
            if (!event.peer.empty()) peer_ = event.peer;
            progress("introduced to " + peer_text() + " at " + event.address.to_string());
            progress("punching");
            break;
        case EventType::connected:
            if (phase_ != Phase::connecting) break;
            if (!event.peer.empty()) peer_ = event.peer;
            phase_ = Phase::connected;
            progress("connected to " + peer_text() + " at " + event.address.to_string() + " (" +
                     netcore::to_string(event.path) + ")");
            break;
        case EventType::path_changed:
            progress("path changed: " + std::string(netcore::to_string(event.path)) + " " +
                     event.address.to_string());
            break;
        case EventType::introduction_requested:
            // Never for an open host (introduced at once). That player learned nothing about us;
            // a name given to --accept is accepted by netcore itself.
            if (std::find(options_.accept.begin(), options_.accept.end(), event.peer) !=
                options_.accept.end()) {
                progress(event.peer + " asked to be introduced (accepted: --accept)");
            } else if (options_.peer) {
                progress(event.peer + " asked to be introduced (not accepted: we asked for " +
                         peer_text() + ")");
            } else {
                progress(event.peer + " asked to be introduced (not accepted: not in --accept)");
            }
            break;
        case EventType::received:
            print(event);
            break;
        case EventType::party_joined:
        case EventType::member_joined:
        case EventType::member_left:
        case EventType::host_changed:
        case EventType::join_requested:
            break;  // punch joins no party
        case EventType::disconnected:
            if (event.error == Error::peer_timed_out) {
                fail((phase_ == Phase::connecting ? "could not connect to " : "lost ") +
                         peer_text() + (event.detail.empty() ? "" : ": " + event.detail),
                     event.error);
            } else if (phase_ == Phase::connecting) {
                fail("the connection to " + peer_text() + " ended before it started",
                     event.error == Error::none ? Error::connect_failed : event.error);
            } else {
                progress(event.error == Error::peer_disconnected
                             ? peer_text() + " disconnected"
                             : "disconnected from " + peer_text());
                finish(phase_ == Phase::closing ? close_code_ : punch::kExitOk);
            }
            break;
        case EventType::error:
            handle_error(event);
            break;
        case EventType::warning:
            progress("warning: " + event.detail);
            break;
    }
}

void Chat::handle_error(const netcore::Event& event) {
    if (event.error == Error::peer_not_online && options_.peer) {
        fail_line("no connection to " + *options_.peer + " within " +
                  seconds_text(options_.timeout) + " s: " + to_string(event.error));
        return;
    }
    if (event.error == Error::peer_not_online) {
        // Without a peer named: an --accept'ed player stopped asking before we answered.
        progress(event.detail + "; still waiting");
        return;
    }
    std::string sentence = event.detail.empty() ? failure_sentence(event.error) : event.detail;
    while (!sentence.empty() && (sentence.back() == '.' || sentence.back() == '\n'))
        sentence.pop_back();
    const auto state = session_.state();
    const bool fatal = phase_ == Phase::connecting || state == netcore::State::failed ||
                       state == netcore::State::closed;
    if (fatal) {
        fail(sentence, event.error);
    } else {
        // Connected, and netcore says it can go on (a registration refresh failed, say).
        say("warning: " + sentence + " (" + to_string(event.error) + ")");
    }
}

std::string Chat::failure_sentence(Error e, const std::string& peer) const {
    switch (e) {
        case Error::socket_error:
            return "cannot open a UDP socket on port " + std::to_string(options_.local_port);
        case Error::server_unreachable:
            return "the rendezvous server " + options_.server.to_string() + " does not answer";
        case Error::name_taken:
            return "the name " + options_.name + " is taken";
        case Error::name_invalid:
            return "the server refused the name " + options_.name;
        case Error::server_full:
            return "the rendezvous server is full";
        case Error::peer_not_online:
            return peer + " is not online";
        case Error::punch_failed:
            return "could not punch through to " + peer;
        case Error::connect_failed:
            return "reached " + peer + " but could not connect";
        case Error::peer_disconnected:
            return peer + " disconnected";
        case Error::peer_timed_out:
            return "lost " + peer;
        case Error::invalid_argument:
        case Error::invalid_state:
            return "netcore refused the request";
        case Error::version_mismatch:
            return "upgrade needed: the rendezvous server speaks another protocol version";
        case Error::server_unauthenticated:
            return "the rendezvous server did not prove the key given with --server-key";
        case Error::peer_unauthenticated:
            return peer + " could not prove its identity key";
        case Error::name_owned:
            return "the name is held by its owner's key; pick another name, or pass the owner key";
        case Error::party_full:
            return "the party is full";
        case Error::party_refused:
            return "the rendezvous server took no party";
        case Error::none:
            break;
    }
    return "unexpected failure";
}

// Waits up to a frame for stdin (while connected) or the session's socket: a datagram is
// handled at once, not at the end of the frame (a frame per hop of a handshake adds up).
void Chat::pump_stdin(int timeout_ms) {
    const bool want = phase_ == Phase::connected && stdin_open_;
    std::array<pollfd, 2> fds{};
    nfds_t n = 0;
    if (const int socket = session_.socket_handle(); socket >= 0) {
        fds[n].fd = socket;
        fds[n++].events = POLLIN;
    }
    const nfds_t in = n;
    if (want) {
        fds[n].fd = 0;
        fds[n++].events = POLLIN;
    }
    const int ready = poll(n > 0 ? fds.data() : nullptr, n, timeout_ms);
    if (ready > 0 && want && (fds[in].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) != 0)
        read_stdin();
    // ready < 0 is EINTR (a signal, seen next frame); 0 is the frame's timeout.
}

void Chat::read_stdin() {
    const ssize_t n = read(0, read_buffer_.data(), read_buffer_.size());
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) return;
        say(std::string("warning: cannot read stdin: ") + std::strerror(errno) +
            "; treating it as ended");
    }
    if (n <= 0) {
        stdin_open_ = false;
        lines_.finish();
    } else {
        lines_.feed({read_buffer_.data(), static_cast<std::size_t>(n)});
    }
    send_lines();
    after_lines();
}

// After lines went out: a line over the limit ends the exchange; the end of input is told to
// the peer, or, in a party, leaves it once no line is held.
void Chat::after_lines() {
    if (phase_ != Phase::connected) return;
    if (lines_.overflowed()) {
        say("line " + std::to_string(lines_.line_number()) + " of stdin is longer than " +
            std::to_string(punch::kMaxLineLength) + " bytes");
        stdin_open_ = false;
        begin_close(punch::kExitUsage, kCloseBound);
        return;
    }
    if (stdin_open_) return;
    if (party_mode()) {
        leave_at_end_of_input();
    } else {
        send_end_of_input();
    }
}

// In a party, lines read while no member is connected wait for the first connection.
void Chat::send_lines() {
    std::string line;
    while (phase_ == Phase::connected && (!party_mode() || any_member_connected()) &&
           lines_.next(line)) {
        if (!session_.send(netcore::Channel::reliable, bytes_of(line))) {
            say("cannot send to " + (party_mode() ? "the party" : peer_text()) + " (send_failed)");
            stdin_open_ = false;
            begin_close(punch::kExitFailure, kCloseBound);
        }
    }
}

void Chat::send_end_of_input() {
    const std::string end(1, punch::kEndOfInput);
    if (!session_.send(netcore::Channel::reliable, bytes_of(end))) {
        say("cannot send to " + peer_text() + " (send_failed)");
        begin_close(punch::kExitFailure, kCloseBound);
        return;
    }
    sent_end_ = true;
    if (options_.exit_on_eof || peer_ended_) {
        begin_close(punch::kExitOk, kCloseBound);
    } else {
        progress("end of input; waiting for " + peer_text() + " to finish");
    }
}

void Chat::print(const netcore::Event& event) {
    if (punch::classify(event.data) == punch::Incoming::end_of_input) {
        peer_ended_ = true;
        if (phase_ != Phase::connected) return;
        if (sent_end_) {
            begin_close(punch::kExitOk, kCloseBound);
        } else {
            progress(peer_text() + "'s input ended");
        }
        return;
    }
    if (!stdout_ok_) return;
    if (!write_all(1, punch::printable(event.data))) {
        stdout_ok_ = false;
        say(std::string("cannot write to stdout: ") + std::strerror(errno));
        stdin_open_ = false;
        begin_close(punch::kExitFailure, kCloseBound);
    }
}

// Ends the peer session gracefully; `code` is the exit code once the peer has acknowledged, or
// once `bound` has passed.
void Chat::begin_close(int code, netcore::Duration bound) {
    if (phase_ != Phase::connected) {
        if (phase_ != Phase::closing) finish(code);
        return;
    }
    phase_ = Phase::closing;
    close_code_ = code;
    close_deadline_ = Clock::now() + bound;
    // In a party: leave it; netcore ends each connection after its queued lines (a disconnected
    // event each), and frame() finishes once none is left, or `bound` has passed.
    if (party_mode())
        session_.leave_party();
    else
        session_.disconnect();
}

// ---- --party ------------------------------------------------------------------------------

bool Chat::any_member_connected() const {
    for (const netcore::PeerInfo& p : session_.peers())
        if (p.state == netcore::State::connected) return true;
    return false;
}

std::string Chat::member_name(const netcore::Event& event) const {
    if (!event.peer.empty()) return event.peer;
    if (const auto info = session_.peer(event.connection); info && !info->name.empty())
        return info->name;
    return "peer " + std::to_string(event.connection);
}

void Chat::handle_party(const netcore::Event& event) {
    using netcore::EventType;
    const std::string& party = *options_.party;
    switch (event.type) {
        case EventType::registered:
            if (registered_) break;
            registered_ = true;
            progress("registered as " + options_.name + " (public " + event.address.to_string() +
                     ")");
            if (!joined_) progress("joining party " + party);
            break;
        case EventType::party_joined: {
            if (joined_) break;  // the server's answer to a refresh, if netcore reports those
            joined_ = true;
            phase_ = Phase::connected;
            const std::string& host = session_.party().host();
            progress("joined party " + party + " (host " + (host.empty() ? event.peer : host) +
                     ")");
            break;
        }
        case EventType::member_joined:
            progress(event.peer + " joined");
            break;
        case EventType::member_left:
            progress(event.peer + " left");
            break;
        case EventType::host_changed:
            progress("host is now " + event.peer);
            break;
        case EventType::join_requested: {
            const bool listed = std::find(options_.accept.begin(), options_.accept.end(),
                                          event.peer) != options_.accept.end();
            const Error e = listed ? session_.admit(event.peer) : Error::none;
            if (!join_askers_.insert(event.peer).second) break;
            if (!listed) {
                progress(event.peer + " asks to join (not admitted: not in --accept)");
            } else if (e == Error::none) {
                progress(event.peer + " asks to join (admitted: --accept)");
            } else {
                say("cannot admit " + event.peer + " (" + to_string(e) + ")");
            }
            break;
        }
        case EventType::introduced:
            progress("introduced to " + member_name(event) + " at " + event.address.to_string());
            break;
        case EventType::connected:
            ever_connected_.insert(event.connection);
            progress("connected to " + member_name(event) + " at " + event.address.to_string() +
                     " (" + netcore::to_string(event.path) + ")");
            send_lines();  // lines held while nobody was connected
            after_lines();
            break;
        case EventType::path_changed:
            progress("path to " + member_name(event) + " changed: " +
                     netcore::to_string(event.path) + " " + event.address.to_string());
            break;
        case EventType::received:
            print_from_member(event);
            break;
        case EventType::disconnected:
            handle_party_disconnect(event);
            break;
        case EventType::error:
            handle_party_error(event);
            break;
        case EventType::warning:
            progress("warning: " + event.detail);
            break;
        case EventType::introduction_requested:
            // Someone outside the party asked for us: the rendezvous told it nothing.
            progress(event.peer + " asked to be introduced (not accepted: we are in party " +
                     party + ")");
            break;
        case EventType::waiting_for_peer:
            break;  // only for connect(), which a party member does not call
    }
}

// One connection ended; the party goes on.
void Chat::handle_party_disconnect(const netcore::Event& event) {
    const std::string who = member_name(event);
    const bool was_connected = ever_connected_.erase(event.connection) > 0;
    if (phase_ == Phase::closing) {
        progress("disconnected from " + who);
    } else if (event.error == Error::peer_timed_out) {
        say((was_connected ? "lost " : "could not connect to ") + who +
            (event.detail.empty() ? "" : ": " + event.detail) + " (" + to_string(event.error) +
            ")");
    } else if (event.error == Error::peer_disconnected) {
        progress(who + " disconnected");
    } else if (!was_connected && event.error != Error::none) {
        say("the connection to " + who + " ended before it started (" + to_string(event.error) +
            ")");
    } else {
        progress("disconnected from " + who);
    }
}

// A failure that names a connection is that pair's only: printed, and the party goes on. One of
// the session's own ends punch while it is joining, or when netcore says it cannot go on.
void Chat::handle_party_error(const netcore::Event& event) {
    const std::string who = member_name(event);
    std::string sentence = event.detail.empty() ? failure_sentence(event.error, who) : event.detail;
    while (!sentence.empty() && (sentence.back() == '.' || sentence.back() == '\n'))
        sentence.pop_back();
    const auto state = session_.state();
    const bool session_over = state == netcore::State::failed || state == netcore::State::closed;
    const bool refused = event.error == Error::party_full || event.error == Error::party_refused;
    if (event.connection != netcore::kNoPeer && !session_over) {
        say(sentence + " (" + to_string(event.error) + ")");
    } else if (phase_ == Phase::connecting || session_over || refused) {
        fail(sentence, event.error);
    } else {
        say("warning: " + sentence + " (" + to_string(event.error) + ")");
    }
}

void Chat::print_from_member(const netcore::Event& event) {
    // Only the two-player mode ends its input with a message; a member's is never sent.
    if (punch::classify(event.data) == punch::Incoming::end_of_input) return;
    if (!stdout_ok_) return;
    if (!write_all(1, punch::printable_from(member_name(event), event.data))) {
        stdout_ok_ = false;
        say(std::string("cannot write to stdout: ") + std::strerror(errno));
        stdin_open_ = false;
        begin_close(punch::kExitFailure, kCloseBound);
    }
}

// Our input ended: leave once every line has gone out. Lines held because nobody is connected
// keep us in the party until the first member connects and gets them.
void Chat::leave_at_end_of_input() {
    if (phase_ != Phase::connected || lines_.pending()) return;
    progress("end of input; leaving party " + *options_.party);
    begin_close(punch::kExitOk, kCloseBound);
}

// --stats in a party: a line per connected member, then the socket's bytes.
void Chat::report_party_stats() {
    for (const netcore::PeerInfo& p : session_.peers()) {
        if (p.state != netcore::State::connected) continue;
        char loss[32];
        std::snprintf(loss, sizeof loss, "%.3f", static_cast<double>(p.packet_loss));
        say("stats: peer=" + p.name + " path=" + netcore::to_string(p.path) +
            " rtt_ms=" + std::to_string(p.rtt_ms) + " loss=" + loss);
    }
    const netcore::Stats s = session_.stats();
    say("stats: bytes_sent=" + std::to_string(s.bytes_sent) +
        " bytes_received=" + std::to_string(s.bytes_received));
}

}  // namespace

int main(int argc, char** argv) {
    ensure_standard_fds();
    auto parsed = punch::parse_options(argc, argv);
    if (const int* code = std::get_if<int>(&parsed)) return *code;
    if (const auto& created = std::get<Options>(parsed).name_key_created; !created.empty())
        std::fprintf(stderr, "punch: created name key %s (keep it: it owns the name)\n",
                     created.c_str());
    install_signal_handlers();
    Chat chat(std::move(std::get<Options>(parsed)));
    return chat.run();
}
