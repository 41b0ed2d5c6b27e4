// Encoding and decoding of netcore datagrams (docs/PROTOCOL.md).
#include "netcore/protocol.hpp"

#include <algorithm>
#include <cstring>

namespace netcore::protocol {

namespace {

// A TURN username or password: 1..kMaxCredentialLength printable ASCII characters, no space.
bool valid_credential(std::string_view c) {
    if (c.empty() || c.size() > kMaxCredentialLength) return false;
    return std::all_of(c.begin(), c.end(), [](char ch) { return ch > ' ' && ch < 0x7F; });
}

// Bounds-checked big-endian reader over one datagram. Any read past the end sets `failed`
// and returns zeros, so a decoder checks once at the end instead of after every field.
class Reader {
  public:
    explicit Reader(std::span<const std::uint8_t> data) : data_(data) {}

    std::uint8_t u8() {
        if (!need(1)) return 0;
        return data_[pos_++];
    }
    std::uint16_t u16() {
        if (!need(2)) return 0;
        const auto v = static_cast<std::uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
        pos_ += 2;
        return v;
    }
    std::uint32_t u32() {
        if (!need(4)) return 0;
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) v = (v << 8) | data_[pos_++];
        return v;
    }
    std::uint64_t u64() {
        const std::uint64_t hi = u32();
        return (hi << 32) | u32();
    }
    void bytes(std::span<std::uint8_t> out) {
        if (!need(out.size())) return;
        std::memcpy(out.data(), data_.data() + pos_, out.size());
        pos_ += out.size();
    }
    Address address() {
        const auto ip = u32();
        return Address{ip, u16()};
    }
    // A name: length byte, then that many bytes; the length is checked against what is left.
    bool name(std::string_view& out) {
        const std::size_t len = u8();
        if (!need(len)) return false;
        out = std::string_view(reinterpret_cast<const char*>(data_.data() + pos_), len);
        pos_ += len;
        return true;
    }
    bool address_list(AddressList& out) {
        const std::size_t count = u8();
        if (count > kMaxLanAddresses) {
            bad_field_ = true;
            return false;
        }
        for (std::size_t i = 0; i < count; ++i) out.push(address());
        return !truncated_;
    }
    // TURN servers and credentials: a count, the servers, then two length-prefixed strings of
    // printable ASCII (only when there is a server).
    void relay_grant(RelayGrant& out) {
        out.count = u8();
        if (out.count > kMaxRelayServers) {
            bad_field_ = true;
            return;
        }
        for (std::size_t i = 0; i < out.count; ++i) out.servers[i] = address();
        if (out.count > 0 && credential(out.username)) credential(out.password);
    }
    bool credential(std::string_view& out) {
        if (!name(out)) return false;
        if (!valid_credential(out)) {
            bad_field_ = true;
            return false;
        }
        return true;
    }
    [[nodiscard]] bool truncated() const { return truncated_; }
    [[nodiscard]] bool bad_field() const { return bad_field_; }
    [[nodiscard]] bool at_end() const { return pos_ == data_.size(); }
    // Whatever is left (a Probe's CONNECT).
    std::span<const std::uint8_t> rest() {
        if (truncated_) return {};
        const auto out = data_.subspan(pos_);
        pos_ = data_.size();
        return out;
    }

  private:
    bool need(std::size_t n) {
        if (truncated_ || data_.size() - pos_ < n) {
            truncated_ = true;
            return false;
        }
        return true;
    }

    std::span<const std::uint8_t> data_;
    std::size_t pos_ = 0;
    bool truncated_ = false;
    bool bad_field_ = false;
};

// Big-endian writer into a caller's buffer; `failed` once anything did not fit.
class Writer {
  public:
    explicit Writer(std::span<std::uint8_t> out) : out_(out) {}

    void u8(std::uint8_t v) {
        if (room(1)) out_[pos_++] = v;
    }
    void u16(std::uint16_t v) {
        u8(static_cast<std::uint8_t>(v >> 8));
        u8(static_cast<std::uint8_t>(v));
    }
    void u32(std::uint32_t v) {
        u16(static_cast<std::uint16_t>(v >> 16));
        u16(static_cast<std::uint16_t>(v));
    }
    void u64(std::uint64_t v) {
        u32(static_cast<std::uint32_t>(v >> 32));
        u32(static_cast<std::uint32_t>(v));
    }
    void bytes(std::span<const std::uint8_t> in) {
        if (in.empty() || !room(in.size())) return;  // an empty span may hold no pointer
        std::memcpy(out_.data() + pos_, in.data(), in.size());
        pos_ += in.size();
    }
    void address(Address a) {
        u32(a.ip);
        u16(a.port);
    }
    void name(std::string_view n) {
        if (!valid_name(n)) {
            failed_ = true;
            return;
        }
        u8(static_cast<std::uint8_t>(n.size()));
        if (room(n.size())) {
            std::memcpy(out_.data() + pos_, n.data(), n.size());
            pos_ += n.size();
        }
    }
    void relay_grant(const RelayGrant& grant) {
        if (grant.count > kMaxRelayServers) {
            failed_ = true;
            return;
        }
        u8(grant.count);
        for (const auto& a : grant.view()) address(a);
        if (grant.count == 0) return;
        credential(grant.username);
        credential(grant.password);
    }
    void credential(std::string_view c) {
        if (!valid_credential(c)) {
            failed_ = true;
            return;
        }
        u8(static_cast<std::uint8_t>(c.size()));
        bytes({reinterpret_cast<const std::uint8_t*>(c.data()), c.size()});
    }
    void address_list(const AddressList& list) {
        if (list.count > kMaxLanAddresses) {
            failed_ = true;
            return;
        }
        u8(list.count);
        for (const auto& a : list.view()) address(a);
    }

    [[nodiscard]] std::size_t result() const { return failed_ ? 0 : pos_; }

  private:
    bool room(std::size_t n) {
        if (failed_ || out_.size() - pos_ < n) {
            failed_ = true;
            return false;
        }
        return true;
    }

    std::span<std::uint8_t> out_;
    std::size_t pos_ = 0;
    bool failed_ = false;
};

void write_body(Writer& w, const RegisterRequest& m) {
    w.u64(m.instance);
    w.name(m.name);
    w.address_list(m.lan);
    w.u8(m.flags);
    if ((m.flags & RegisterFlags::owned) != 0) {
        w.bytes(m.owner);
        w.bytes(m.proof);
    }
}
void write_body(Writer& w, const RegisterAck& m) {
    w.u64(m.instance);
    w.address(m.observed);
    w.u32(m.refresh_ms);
    w.u32(m.expiry_ms);
}
void write_body(Writer& w, const RegisterError& m) {
    w.u64(m.instance);
    w.u8(static_cast<std::uint8_t>(m.code));
}
void write_body(Writer& w, const IntroduceRequest& m) {
    w.u64(m.instance);
    w.name(m.peer);
}
void write_body(Writer& w, const PeerUnknown& m) {
    w.name(m.peer);
}
void write_body(Writer& w, const Introduction& m) {
    w.u64(m.token);
    w.u8(static_cast<std::uint8_t>(m.role));
    w.name(m.peer);
    w.address(m.peer_public);
    w.address_list(m.peer_lan);
    w.relay_grant(m.relay);
    w.bytes(m.peer_key);
    w.u8(m.flags);
}
void write_body(Writer& w, const Unregister& m) {
    w.u64(m.instance);
}
void write_body(Writer& w, const RelayOffer& m) {
    w.u64(m.instance);
    w.u64(m.token);
    w.name(m.peer);
    w.address(m.relayed);
    w.address(m.mapped);
}
void write_body(Writer& w, const PeerRelay& m) {
    w.u64(m.token);
    w.address(m.relayed);
    w.address(m.mapped);
}
void write_body(Writer& w, const IntroductionAsked& m) {
    w.name(m.peer);
}
void write_body(Writer& w, const RelayRenew& m) {
    w.u64(m.instance);
    w.u64(m.token);
    w.name(m.peer);
}
void write_body(Writer& w, const RelayCredentials& m) {
    w.u64(m.token);
    w.relay_grant(m.relay);
}
void write_body(Writer& w, const PartyJoin& m) {
    w.u64(m.instance);
    w.name(m.party);
    w.u8(m.flags);
    w.u32(m.epoch);
}
void write_body(Writer& w, const PartyLeave& m) {
    w.u64(m.instance);
    w.name(m.party);
}
void write_body(Writer& w, const PartyMembers& m) {
    w.name(m.party);
    w.u32(m.epoch);
    w.u8(m.flags);
    w.u8(m.count);
    for (const auto& member : m.view()) w.name(member);
}
void write_body(Writer& w, const PartyRefused& m) {
    w.name(m.party);
    w.u8(static_cast<std::uint8_t>(m.code));
}
void write_body(Writer& w, const PartyAdmit& m) {
    w.u64(m.instance);
    w.name(m.party);
    w.name(m.player);
}
void write_body(Writer& w, const PartyJoinAsked& m) {
    w.name(m.party);
    w.name(m.player);
}
void write_body(Writer& w, const Probe& m) {
    w.u64(m.token);
    w.u32(m.sequence);
    if (m.connect.size() <= kMaxProbeConnect) w.bytes(m.connect);
}
void write_body(Writer& w, const ProbeAck& m) {
    w.u64(m.token);
    w.u32(m.sequence);
    w.address(m.observed);
}

bool checked_name(Reader& r, std::string_view& out, DecodeError& err) {
    if (!r.name(out)) return false;
    if (!valid_name(out)) {
        err = DecodeError::bad_name;
        return false;
    }
    return true;
}

DecodeError read_body(Reader& r, MessageType type, Message& out) {
    DecodeError err = DecodeError::ok;
    switch (type) {
        case MessageType::register_request: {
            RegisterRequest m;
            m.instance = r.u64();
            if (checked_name(r, m.name, err) && r.address_list(m.lan)) {
                m.flags = r.u8();
                if (!r.truncated() && (m.flags & ~RegisterFlags::all) != 0) {
                    err = DecodeError::bad_field;
                } else if ((m.flags & RegisterFlags::owned) != 0) {
                    r.bytes(m.owner);
                    r.bytes(m.proof);
                }
            }
            out = m;
            break;
        }
        case MessageType::register_ack: {
            RegisterAck m;
            m.instance = r.u64();
            m.observed = r.address();
            m.refresh_ms = r.u32();
            m.expiry_ms = r.u32();
            out = m;
            break;
        }
        case MessageType::register_error: {
            RegisterError m;
            m.instance = r.u64();
            const auto code = r.u8();
            if (!r.truncated() && (code < 1 || code > 5)) err = DecodeError::bad_field;
            m.code = static_cast<RegisterErrorCode>(code);
            out = m;
            break;
        }
        case MessageType::introduce_request: {
            IntroduceRequest m;
            m.instance = r.u64();
            checked_name(r, m.peer, err);
            out = m;
            break;
        }
        case MessageType::peer_unknown: {
            PeerUnknown m;
            checked_name(r, m.peer, err);
            out = m;
            break;
        }
        case MessageType::introduction: {
            Introduction m;
            m.token = r.u64();
            const auto role = r.u8();
            if (!r.truncated() && role > 1) err = DecodeError::bad_field;
            m.role = static_cast<Role>(role);
            if (err == DecodeError::ok && checked_name(r, m.peer, err)) {
                m.peer_public = r.address();
                if (r.address_list(m.peer_lan)) r.relay_grant(m.relay);
                r.bytes(m.peer_key);
                m.flags = r.u8();
                if (!r.truncated() && (m.flags & ~IntroductionFlags::all) != 0)
                    err = DecodeError::bad_field;
            }
            out = m;
            break;
        }
        case MessageType::unregister: {
            out = Unregister{r.u64()};
            break;
        }
        case MessageType::relay_offer: {
            RelayOffer m;
            m.instance = r.u64();
            m.token = r.u64();
            if (checked_name(r, m.peer, err)) {
                m.relayed = r.address();
                m.mapped = r.address();
            }
            out = m;
            break;
        }
        case MessageType::peer_relay: {
            PeerRelay m;
            m.token = r.u64();
            m.relayed = r.address();
            m.mapped = r.address();
            out = m;
            break;
        }
        case MessageType::introduction_asked: {
            IntroductionAsked m;
            checked_name(r, m.peer, err);
            out = m;
            break;
        }
        case MessageType::relay_renew: {
            RelayRenew m;
            m.instance = r.u64();
            m.token = r.u64();
            checked_name(r, m.peer, err);
            out = m;
            break;
        }
        case MessageType::relay_credentials: {
            RelayCredentials m;
            m.token = r.u64();
            r.relay_grant(m.relay);
            out = m;
            break;
        }
        case MessageType::party_join: {
            PartyJoin m;
            m.instance = r.u64();
            if (checked_name(r, m.party, err)) {
                m.flags = r.u8();
                m.epoch = r.u32();
                if (!r.truncated() && (m.flags & ~PartyFlags::all) != 0)
                    err = DecodeError::bad_field;
            }
            out = m;
            break;
        }
        case MessageType::party_leave: {
            PartyLeave m;
            m.instance = r.u64();
            checked_name(r, m.party, err);
            out = m;
            break;
        }
        case MessageType::party_members: {
            PartyMembers m;
            if (checked_name(r, m.party, err)) {
                m.epoch = r.u32();
                m.flags = r.u8();
                const auto count = r.u8();
                if (!r.truncated() && ((m.flags & ~PartyFlags::all) != 0 || m.epoch == 0 ||
                                       count == 0 || count > kMaxPartyMembers)) {
                    err = DecodeError::bad_field;
                } else {
                    for (std::size_t i = 0; i < count && err == DecodeError::ok; ++i) {
                        std::string_view member;
                        if (!checked_name(r, member, err)) break;
                        m.push(member);
                    }
                }
            }
            out = m;
            break;
        }
        case MessageType::party_refused: {
            PartyRefused m;
            if (checked_name(r, m.party, err)) {
                const auto code = r.u8();
                if (!r.truncated() && (code < 1 || code > 5)) err = DecodeError::bad_field;
                m.code = static_cast<PartyRefusedCode>(code);
            }
            out = m;
            break;
        }
        case MessageType::party_admit: {
            PartyAdmit m;
            m.instance = r.u64();
            if (checked_name(r, m.party, err)) checked_name(r, m.player, err);
            out = m;
            break;
        }
        case MessageType::party_join_asked: {
            PartyJoinAsked m;
            if (checked_name(r, m.party, err)) checked_name(r, m.player, err);
            out = m;
            break;
        }
        case MessageType::probe: {
            Probe m;
            m.token = r.u64();
            m.sequence = r.u32();
            m.connect = r.rest();  // the CONNECT it carries, if any: the rest of the box
            if (m.connect.size() > kMaxProbeConnect) err = DecodeError::bad_field;
            out = m;
            break;
        }
        case MessageType::probe_ack: {
            ProbeAck m;
            m.token = r.u64();
            m.sequence = r.u32();
            m.observed = r.address();
            out = m;
            break;
        }
        default:
            return DecodeError::unknown_type;
    }
    // Order matters: a name with a bad character is reported as such even if bytes follow.
    if (err != DecodeError::ok) return err;
    if (r.bad_field()) return DecodeError::bad_field;
    if (r.truncated()) return DecodeError::truncated;
    if (!r.at_end()) return DecodeError::trailing_bytes;
    return DecodeError::ok;
}

}  // namespace

const char* to_string(DecodeError e) {
    switch (e) {
        case DecodeError::ok:
            return "ok";
        case DecodeError::not_ours:
            return "not_ours";
        case DecodeError::bad_version:
            return "bad_version";
        case DecodeError::unknown_type:
            return "unknown_type";
        case DecodeError::truncated:
            return "truncated";
        case DecodeError::bad_name:
            return "bad_name";
        case DecodeError::bad_field:
            return "bad_field";
        case DecodeError::trailing_bytes:
            return "trailing_bytes";
    }
    return "?";
}

const char* to_string(RegisterErrorCode c) {
    switch (c) {
        case RegisterErrorCode::name_taken:
            return "name_taken";
        case RegisterErrorCode::name_invalid:
            return "name_invalid";
        case RegisterErrorCode::server_full:
            return "server_full";
        case RegisterErrorCode::not_registered:
            return "not_registered";
        case RegisterErrorCode::name_owned:
            return "name_owned";
    }
    return "?";
}

const char* to_string(MessageType t) {
    switch (t) {
        case MessageType::register_request:
            return "Register";
        case MessageType::register_ack:
            return "RegisterAck";
        case MessageType::register_error:
            return "RegisterError";
        case MessageType::introduce_request:
            return "IntroduceRequest";
        case MessageType::peer_unknown:
            return "PeerUnknown";
        case MessageType::introduction:
            return "Introduction";
        case MessageType::unregister:
            return "Unregister";
        case MessageType::relay_offer:
            return "RelayOffer";
        case MessageType::peer_relay:
            return "PeerRelay";
        case MessageType::introduction_asked:
            return "IntroductionAsked";
        case MessageType::relay_renew:
            return "RelayRenew";
        case MessageType::relay_credentials:
            return "RelayCredentials";
        case MessageType::party_join:
            return "PartyJoin";
        case MessageType::party_leave:
            return "PartyLeave";
        case MessageType::party_members:
            return "PartyMembers";
        case MessageType::party_refused:
            return "PartyRefused";
        case MessageType::party_admit:
            return "PartyAdmit";
        case MessageType::party_join_asked:
            return "PartyJoinAsked";
        case MessageType::probe:
            return "Probe";
        case MessageType::probe_ack:
            return "ProbeAck";
    }
    return "?";
}

std::size_t owner_statement(const PublicKey& server_key, const Salt& salt,
                            const PublicKey& client_key, std::string_view name,
                            std::span<std::uint8_t> out) {
    static constexpr std::string_view kLabel = "netcore v3 name";  // 15 bytes + a zero
    Writer w(out);
    w.bytes({reinterpret_cast<const std::uint8_t*>(kLabel.data()), kLabel.size()});
    w.u8(0);
    w.bytes(server_key);
    w.bytes(salt);
    w.bytes(client_key);
    w.name(name);
    return w.result();
}

bool has_magic(std::span<const std::uint8_t> datagram) {
    return datagram.size() >= kMagic.size() &&
           std::memcmp(datagram.data(), kMagic.data(), kMagic.size()) == 0;
}

bool valid_name(std::string_view name) {
    if (name.empty() || name.size() > kMaxNameLength) return false;
    return std::all_of(name.begin(), name.end(), name_char);
}

MessageType type_of(const Message& msg) {
    struct Visitor {
        MessageType operator()(const RegisterRequest&) const {
            return MessageType::register_request;
        }
        MessageType operator()(const RegisterAck&) const { return MessageType::register_ack; }
        MessageType operator()(const RegisterError&) const { return MessageType::register_error; }
        MessageType operator()(const IntroduceRequest&) const {
            return MessageType::introduce_request;
        }
        MessageType operator()(const PeerUnknown&) const { return MessageType::peer_unknown; }
        MessageType operator()(const Introduction&) const { return MessageType::introduction; }
        MessageType operator()(const Unregister&) const { return MessageType::unregister; }
        MessageType operator()(const RelayOffer&) const { return MessageType::relay_offer; }
        MessageType operator()(const PeerRelay&) const { return MessageType::peer_relay; }
        MessageType operator()(const IntroductionAsked&) const {
            return MessageType::introduction_asked;
        }
        MessageType operator()(const RelayRenew&) const { return MessageType::relay_renew; }
        MessageType operator()(const RelayCredentials&) const {
            return MessageType::relay_credentials;
        }
        MessageType operator()(const PartyJoin&) const { return MessageType::party_join; }
        MessageType operator()(const PartyLeave&) const { return MessageType::party_leave; }
        MessageType operator()(const PartyMembers&) const { return MessageType::party_members; }
        MessageType operator()(const PartyRefused&) const { return MessageType::party_refused; }
        MessageType operator()(const PartyAdmit&) const { return MessageType::party_admit; }
        MessageType operator()(const PartyJoinAsked&) const {
            return MessageType::party_join_asked;
        }
        MessageType operator()(const Probe&) const { return MessageType::probe; }
        MessageType operator()(const ProbeAck&) const { return MessageType::probe_ack; }
    };
    return std::visit(Visitor{}, msg);
}

const char* to_string(EnvelopeType t) {
    switch (t) {
        case EnvelopeType::hello:
            return "Hello";
        case EnvelopeType::challenge:
            return "Challenge";
        case EnvelopeType::client_sealed:
            return "ClientSealed";
        case EnvelopeType::server_sealed:
            return "ServerSealed";
        case EnvelopeType::version_refused:
            return "VersionRefused";
        case EnvelopeType::peer_probe:
            return "PeerProbe";
        case EnvelopeType::peer_data:
            return "PeerData";
    }
    return "?";
}

std::uint8_t wire_version(std::span<const std::uint8_t> datagram) {
    if (!has_magic(datagram) || datagram.size() < kHeaderSize) return 0;
    return datagram[4];
}

DecodeError decode_envelope(std::span<const std::uint8_t> datagram, Envelope& out) {
    if (!has_magic(datagram)) return DecodeError::not_ours;
    if (datagram.size() < kHeaderSize) return DecodeError::truncated;
    if (datagram[4] != kVersion) return DecodeError::bad_version;
    out = Envelope{};
    out.type = static_cast<EnvelopeType>(datagram[5]);
    Reader r(datagram.subspan(kHeaderSize));
    // The clear head of each type; `head` is where the box starts (0: no box, clear envelope).
    std::size_t head = 0;
    switch (out.type) {
        case EnvelopeType::hello: {
            r.bytes(out.client_key);
            std::array<std::uint8_t, kHelloSize - kHeaderSize - kKeySize> padding{};
            r.bytes(padding);
            if (std::any_of(padding.begin(), padding.end(), [](std::uint8_t b) { return b != 0; }))
                return DecodeError::bad_field;
            break;
        }
        case EnvelopeType::challenge:
            r.bytes(out.server_key);
            r.bytes(out.salt);
            r.bytes(out.cookie);
            break;
        case EnvelopeType::version_refused:
            out.min_version = r.u8();
            out.max_version = r.u8();
            break;
        case EnvelopeType::client_sealed:
            r.bytes(out.client_key);
            r.bytes(out.cookie);
            out.counter = r.u64();
            head = kClientSealedHead;
            break;
        case EnvelopeType::server_sealed:
            out.counter = r.u64();
            head = kServerSealedHead;
            break;
        case EnvelopeType::peer_probe:
            r.bytes(out.probe_nonce);
            head = kProbeHead;
            break;
        case EnvelopeType::peer_data:
            out.channel = r.u32();
            out.counter = r.u64();
            head = kDataHead;
            break;
        default:
            return DecodeError::unknown_type;
    }
    if (r.truncated()) return DecodeError::truncated;
    if (head == 0) return r.at_end() ? DecodeError::ok : DecodeError::trailing_bytes;
    // A box holds at least its tag (and a peer_data box at least one ENet header byte, but
    // that is ENet's to judge, after the box opened).
    if (datagram.size() < head + kTagSize) return DecodeError::truncated;
    out.ad = datagram.first(head);
    out.box = datagram.subspan(head);
    return DecodeError::ok;
}

namespace {

void write_header(Writer& w, EnvelopeType type) {
    for (const auto b : kMagic) w.u8(b);
    w.u8(kVersion);
    w.u8(static_cast<std::uint8_t>(type));
}

}  // namespace

std::size_t encode_hello(const PublicKey& client_key, std::span<std::uint8_t> out) {
    Writer w(out);
    write_header(w, EnvelopeType::hello);
    w.bytes(client_key);
    const std::array<std::uint8_t, kHelloSize - kHeaderSize - kKeySize> padding{};
    w.bytes(padding);
    return w.result();
}

std::size_t encode_challenge(const PublicKey& server_key, const Salt& salt, const Cookie& cookie,
                             std::span<std::uint8_t> out) {
    Writer w(out);
    write_header(w, EnvelopeType::challenge);
    w.bytes(server_key);
    w.bytes(salt);
    w.bytes(cookie);
    return w.result();
}

std::size_t encode_version_refused(std::span<std::uint8_t> out) {
    Writer w(out);
    write_header(w, EnvelopeType::version_refused);
    w.u8(kVersion);  // the oldest this build speaks
    w.u8(kVersion);  // the newest
    return w.result();
}

std::size_t encode_client_sealed_head(const PublicKey& client_key, const Cookie& cookie,
                                      std::uint64_t counter, std::span<std::uint8_t> out) {
    Writer w(out);
    write_header(w, EnvelopeType::client_sealed);
    w.bytes(client_key);
    w.bytes(cookie);
    w.u64(counter);
    return w.result();
}

std::size_t encode_server_sealed_head(std::uint64_t counter, std::span<std::uint8_t> out) {
    Writer w(out);
    write_header(w, EnvelopeType::server_sealed);
    w.u64(counter);
    return w.result();
}

std::size_t encode_probe_head(const std::array<std::uint8_t, kProbeNonceSize>& nonce,
                              std::span<std::uint8_t> out) {
    Writer w(out);
    write_header(w, EnvelopeType::peer_probe);
    w.bytes(nonce);
    return w.result();
}

std::size_t encode_data_head(std::uint32_t channel, std::uint64_t counter,
                             std::span<std::uint8_t> out) {
    Writer w(out);
    write_header(w, EnvelopeType::peer_data);
    w.u32(channel);
    w.u64(counter);
    return w.result();
}

DecodeError decode_inner(std::span<const std::uint8_t> plaintext, Message& out) {
    if (plaintext.empty()) return DecodeError::truncated;
    Reader r(plaintext.subspan(1));
    return read_body(r, static_cast<MessageType>(plaintext[0]), out);
}

std::size_t encode_inner(const Message& msg, std::span<std::uint8_t> out) {
    Writer w(out);
    w.u8(static_cast<std::uint8_t>(type_of(msg)));
    std::visit([&w](const auto& m) { write_body(w, m); }, msg);
    return w.result();
}

}  // namespace netcore::protocol
