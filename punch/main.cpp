// punch — a command-line netcore client for scripts and operators.
//
//   punch [options] <server[:port]> <name> [peer]
//
// Registers `name` at the rendezvous; with `peer` asks to be introduced to it, otherwise waits to
// be reached. Once connected, stdin lines go to the peer and the peer's lines go to stdout.
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

#include "line_io.hpp"
#include "netcore/session.hpp"
#include "options.hpp"

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

std::string path_text(netcore::Path p) {
    switch (p) {
        case netcore::Path::lan:
            return "lan";
        case netcore::Path::direct:
            return "direct";
        case netcore::Path::relay:
            return "relay";
        case netcore::Path::none:
            break;
    }
    return "unknown path";
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
    void handle_error(const netcore::Event& event);
    void check_deadlines(TimePoint now);
    void report_stats(TimePoint now);
    void check_signal();
    void pump_stdin(int timeout_ms);
    void read_stdin();
    void send_lines();
    void send_end_of_input();
    void print(const netcore::Event& event);

    void progress(const std::string& line) const {
        if (!options_.quiet) say(line);
    }
    std::string failure_sentence(Error e) const;
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
};

netcore::Config Chat::make_config() const {
    netcore::Config config;
    config.server = options_.server;
    config.name = options_.name;
    config.local_port = options_.local_port;
    // With a peer named, only that peer: nobody else can take the session over. --accept: the
    // listed players too (or only them, without a peer).
    if (!options_.accept.empty()) {
        config.consent = netcore::Consent::list;
        config.accept_from = options_.accept;
    } else {
        config.consent =
            options_.peer.has_value() ? netcore::Consent::mutual : netcore::Consent::open;
    }
    if (options_.punch_timeout) config.punch_timeout = *options_.punch_timeout;
    config.use_relay = options_.use_relay;
    config.hide_address = options_.hide_address;
    config.server_key = options_.server_key;
    config.name_key = options_.name_key;
    return config;
}

int Chat::run() {
    const TimePoint start = Clock::now();
    connect_deadline_ = start + options_.timeout;
    if (const Error e = session_.start(start); e != Error::none) {
        fail(failure_sentence(e), e);
        return exit_code_;
    }
    if (options_.peer) {
        // netcore's wait ends with ours (same start), so our deadline check, which runs
        // first, reports it; with --timeout 0 netcore's is just far away.
        const netcore::Duration wait = options_.timeout.count() > 0 ? options_.timeout : kForever;
        if (const Error e = session_.connect(*options_.peer, wait, start); e != Error::none) {
            fail(failure_sentence(e), e);
            return exit_code_;
        }
    }
    while (phase_ != Phase::done) frame();
    session_.close();
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
    report_stats(now);
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
    const netcore::Stats s = session_.stats();
    char loss[32];
    std::snprintf(loss, sizeof loss, "%.3f", static_cast<double>(s.packet_loss));
    say("stats: path=" + path_text(session_.path()) + " rtt_ms=" + std::to_string(s.rtt_ms) +
        " loss=" + loss + " bytes_sent=" + std::to_string(s.bytes_sent) +
        " bytes_received=" + std::to_string(s.bytes_received));
}

void Chat::check_signal() {
    const int signo = g_signal;
    if (signo == 0 || phase_ == Phase::done) return;
    const int code = signo == SIGINT ? punch::kExitSigint : punch::kExitSigterm;
    if (phase_ == Phase::connected) {
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
    if (phase_ == Phase::connecting && options_.timeout.count() > 0 && now >= connect_deadline_) {
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

void Chat::handle(const netcore::Event& event) {
    using netcore::EventType;
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
                     path_text(event.path) + ")");
            break;
        case EventType::path_changed:
            progress("path changed: " + path_text(event.path) + " " + event.address.to_string());
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

std::string Chat::failure_sentence(Error e) const {
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
            return peer_text() + " is not online";
        case Error::punch_failed:
            return "could not punch through to " + peer_text();
        case Error::connect_failed:
            return "reached " + peer_text() + " but could not connect";
        case Error::peer_disconnected:
            return peer_text() + " disconnected";
        case Error::peer_timed_out:
            return "lost " + peer_text();
        case Error::invalid_argument:
            return "netcore refused the request";
        case Error::version_mismatch:
            return "upgrade needed: the rendezvous server speaks another protocol version";
        case Error::server_unauthenticated:
            return "the rendezvous server did not prove the key given with --server-key";
        case Error::peer_unauthenticated:
            return peer_text() + " could not prove its identity key";
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

void Chat::pump_stdin(int timeout_ms) {
    const bool want = phase_ == Phase::connected && stdin_open_;
    pollfd fd{};
    fd.fd = 0;
    fd.events = POLLIN;
    const int ready = poll(want ? &fd : nullptr, want ? 1 : 0, timeout_ms);
    if (ready > 0 && (fd.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) != 0) read_stdin();
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
    if (phase_ != Phase::connected) return;
    if (lines_.overflowed()) {
        say("line " + std::to_string(lines_.line_number()) + " of stdin is longer than " +
            std::to_string(punch::kMaxLineLength) + " bytes");
        stdin_open_ = false;
        begin_close(punch::kExitUsage, kCloseBound);
        return;
    }
    if (!stdin_open_) send_end_of_input();
}

void Chat::send_lines() {
    std::string line;
    while (phase_ == Phase::connected && lines_.next(line)) {
        if (!session_.send(netcore::Channel::reliable, bytes_of(line))) {
            say("cannot send to " + peer_text() + " (send_failed)");
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
    session_.disconnect();
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
