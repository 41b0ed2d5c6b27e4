// Placeholder: the real session lands next. Keeps the library linkable for the other targets.
#include "netcore/session.hpp"

namespace netcore {

struct Session::Impl {
    Config config;
    std::string peer;
};

Session::Session(Config config) : impl_(std::make_unique<Impl>()) { impl_->config = std::move(config); }
Session::~Session() = default;
Error Session::start(TimePoint) { return Error::socket_error; }
Error Session::connect(std::string_view, Duration, TimePoint) { return Error::invalid_argument; }
void Session::update(TimePoint) {}
bool Session::poll(Event&) { return false; }
bool Session::send(Channel, std::span<const std::uint8_t>) { return false; }
void Session::disconnect() {}
void Session::close() {}
State Session::state() const { return State::failed; }
Path Session::path() const { return Path::none; }
Stats Session::stats() const { return {}; }
Address Session::public_address() const { return {}; }
Address Session::local_address() const { return {}; }
Address Session::peer_address() const { return {}; }
const std::string& Session::peer_name() const { return impl_->peer; }
const Config& Session::config() const { return impl_->config; }

const char* to_string(Error) { return "?"; }
const char* to_string(State) { return "?"; }
const char* to_string(Path) { return "?"; }
const char* to_string(EventType) { return "?"; }

}  // namespace netcore
