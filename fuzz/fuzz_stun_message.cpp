// Fuzzes the STUN codec (netcore's TURN client and the rendezvous' Binding answers share it): the
// parser, RFC 3489 requests included, and its attribute readers, ChannelData, and
// TurnClient::handle in an allocated client with a permission and a bound channel (so responses,
// Data indications and ChannelData all reach their handlers). No crash, no read out of bounds,
// peer data is always a view inside the datagram, and a Binding request's answer, built as the
// rendezvous builds it, parses with the request's transaction id and FINGERPRINT.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "stun_message.hpp"
#include "turn_client.hpp"

namespace {

namespace stun = netcore::detail::stun;
using netcore::Address;
using netcore::detail::TurnClient;

const Address kServer{0x7F000001u, 3478};
const Address kPeer{0xCB007107u, 6000};

// Keeps the last request the client sent, to answer it.
class LastSent final : public netcore::detail::RawOutbox {
  public:
    void send_raw(Address, std::span<const std::uint8_t> bytes) override {
        last.assign(bytes.begin(), bytes.end());
    }
    std::vector<std::uint8_t> last;
};

// The server's answer to the client's last request.
std::vector<std::uint8_t> answer(const LastSent& out, stun::Class cls, int error_code,
                                 const stun::IntegrityKey* key, bool relayed) {
    stun::Message request;
    if (stun::parse(out.last, request) != stun::ParseError::ok) std::abort();
    std::vector<std::uint8_t> b(512);
    stun::Writer w(b, request.method(), cls, request.transaction());
    if (error_code != 0) {
        w.add_error_code(error_code, "Unauthorized");
        w.add(stun::Attr::realm, std::string_view("netcore.test"));
        w.add(stun::Attr::nonce, std::string_view("fuzz-nonce"));
    }
    if (relayed) {
        w.add_xor_address(stun::Attr::xor_relayed_address, {0x7F000001u, 50000});
        w.add_u32(stun::Attr::lifetime, 600);
    }
    if (key != nullptr) w.add_integrity(*key);
    b.resize(w.bytes().size());
    return b;
}

// An allocated client with a permission for kPeer and channel 0x4000 bound to it.
TurnClient make_client() {
    TurnClient c;
    LastSent out;
    const netcore::TimePoint t0{};
    const auto key = stun::IntegrityKey::long_term("user", "netcore.test", "pass");
    c.start(kServer, {"user", "pass"}, t0, out);
    (void)c.handle(answer(out, stun::Class::error, 401, nullptr, false), t0, out);
    (void)c.handle(answer(out, stun::Class::success, 0, &key, true), t0, out);
    c.permit(kPeer, t0, out);
    (void)c.handle(answer(out, stun::Class::success, 0, &key, false), t0, out);
    std::vector<std::uint8_t> indication(64);
    stun::Writer w(indication, stun::Method::data, stun::Class::indication, {1});
    w.add_xor_address(stun::Attr::xor_peer_address, kPeer);
    w.add(stun::Attr::data, std::string_view("hi"));
    indication.resize(w.bytes().size());
    (void)c.handle(indication, t0, out);  // binds the channel
    (void)c.handle(answer(out, stun::Class::success, 0, &key, false), t0, out);
    if (c.state() != TurnClient::State::allocated || c.channel(kPeer) != 0x4000) std::abort();
    return c;
}

// The Binding success answer to `request` (rendezvous/src/stun_binding.cpp's): it must parse,
// with the request's 128 bits of transaction, and with FINGERPRINT when the request had one.
void answer_binding(const stun::Message& request) {
    std::array<std::uint8_t, 64> out{};
    auto w = stun::Writer::echoing(out, stun::Method::binding, stun::Class::success,
                                   request.legacy_transaction());
    if (request.classic())
        w.add_address(stun::Attr::mapped_address, kPeer);
    else
        w.add_xor_address(stun::Attr::xor_mapped_address, kPeer);
    if (request.has_fingerprint()) w.add_fingerprint();
    stun::Message back;
    if (!w.ok() || stun::parse(w.bytes(), back, stun::Classic::accept_binding_request) !=
                       (request.classic() ? stun::ParseError::bad_cookie : stun::ParseError::ok))
        std::abort();
    if (!request.classic() && (back.legacy_transaction() != request.legacy_transaction() ||
                               back.has_fingerprint() != request.has_fingerprint() ||
                               back.xor_address(stun::Attr::xor_mapped_address) != kPeer))
        std::abort();
}

class Sink final : public netcore::detail::RawOutbox {
  public:
    void send_raw(Address, std::span<const std::uint8_t>) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> in(data, size);

    stun::Message m;
    if (stun::parse(in, m) == stun::ParseError::ok) {
        static const auto key = stun::IntegrityKey::long_term("user", "netcore.test", "pass");
        (void)m.text(stun::Attr::realm);
        (void)m.u32(stun::Attr::lifetime);
        (void)m.xor_address(stun::Attr::xor_peer_address);
        (void)m.channel_number();
        (void)m.error_code();
        (void)m.check_integrity(key);
    }
    if (stun::parse(in, m, stun::Classic::accept_binding_request) == stun::ParseError::ok &&
        m.method() == stun::Method::binding && m.cls() == stun::Class::request)
        answer_binding(m);
    stun::ChannelData cd;
    if (stun::parse_channel_data(in, cd) &&
        (cd.data.data() < data || cd.data.data() + cd.data.size() > data + size))
        std::abort();

    static const TurnClient prototype = make_client();
    TurnClient client = prototype;
    Sink sink;
    const auto r = client.handle(in, netcore::TimePoint{}, sink);
    if (r.kind == TurnClient::Received::Kind::peer_data &&
        (r.payload.data() < data || r.payload.data() + r.payload.size() > data + size))
        std::abort();
    client.update(netcore::TimePoint{} + std::chrono::seconds(1), sink);
    return 0;
}
