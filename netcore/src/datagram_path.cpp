#include "datagram_path.hpp"

#include <algorithm>

namespace netcore::detail {

using namespace protocol;

bool PeerLink::begin(const crypto::KeyPair& me, std::string_view my_name, const Introduction& intro,
                     const crypto::SymmetricKey* identity) {
    end();
    return channel.begin(me, my_name, intro, identity);
}

void PeerLink::end() {
    channel.end();
    relayed.reset();
    framer = nullptr;
    reflexive.reset();
    connect_id.reset();
    handshake_size = 0;
}

// The session hands each datagram ENet sends to the link of the connection it names (its
// checksum slot's connectID, or a CONNECT's, §11.4); this link seals it for its peer.
std::size_t PeerLink::seal_enet(std::span<const std::uint8_t> datagram,
                                std::span<std::uint8_t> out) {
    if (!active()) return 0;
    if (const auto of = enet_connection_of(datagram);
        of && of->connect && datagram.size() <= handshake.size()) {
        // Our CONNECT: kept for the probes, which carry it from the first round on; once the
        // peer's nonce is known it also goes as ENet sends it, sealed as data.
        std::copy(datagram.begin(), datagram.end(), handshake.begin());
        handshake_size = datagram.size();
    }
    if (!channel.data_ready()) return 0;
    if (framer == nullptr) return channel.seal_data(datagram, out);
    const std::size_t n = channel.seal_data(datagram, framing_);
    return n == 0 ? 0 : framer->frame({framing_.data(), n}, out);
}

bool admit_enet(PeerLink& link, std::span<const std::uint8_t> plain, bool responder,
                const std::function<bool(enet_uint32)>& taken) {
    const auto of = enet_connection_of(plain);
    if (!of) return true;  // 0 and no CONNECT: addressed to no peer
    if (!of->connect) return link.connect_id == of->connect_id;
    // One CONNECT per connection: a copy (the initiator's probes carry it to every candidate,
    // and ENet re-sends it) from another address would make ENet a second peer. ENet's own
    // peer re-sends its VERIFY_CONNECT until acknowledged, so a copy is never needed.
    if (link.connect_id) return false;
    if (!responder || taken(of->connect_id)) return false;
    link.connect_id = of->connect_id;
    return true;
}

void DatagramPath::drop(PeerChannel::Drop why) {
    ++dropped_;
    if (why == PeerChannel::Drop::unauthenticated) ++unauthenticated_;
}

namespace {

// One peer's link as the table of links (tests, and a path with one peer).
class OneLink final : public DatagramPath::Links {
  public:
    explicit OneLink(PeerLink& link) : link_(link) {}
    PeerLink* by_probe_tag(std::uint32_t tag) override {
        return link_.active() && link_.channel.probe_tag() == tag ? &link_ : nullptr;
    }
    PeerLink* by_channel(std::uint32_t channel) override {
        return link_.active() && link_.channel.channel() == channel ? &link_ : nullptr;
    }
    bool admit_enet(PeerLink&, std::span<const std::uint8_t>) override { return true; }

  private:
    PeerLink& link_;
};

std::uint32_t tag_of(const std::array<std::uint8_t, kProbeNonceSize>& nonce) {
    return (std::uint32_t{nonce[0]} << 24) | (std::uint32_t{nonce[1]} << 16) |
           (std::uint32_t{nonce[2]} << 8) | nonce[3];
}

}  // namespace

bool DatagramPath::route(Incoming& in, PeerLink& peer, Receiver& receiver) {
    OneLink links(peer);
    return route(in, links, receiver);
}

std::optional<DatagramPath::Key> DatagramPath::key_of(std::span<const std::uint8_t> datagram) {
    Envelope envelope;
    if (decode_envelope(datagram, envelope) != DecodeError::ok) return std::nullopt;
    if (envelope.type == EnvelopeType::peer_probe) return Key{true, tag_of(envelope.probe_nonce)};
    if (envelope.type == EnvelopeType::peer_data) return Key{false, envelope.channel};
    return std::nullopt;
}

bool DatagramPath::route(Incoming& in, Links& links, Receiver& receiver) {
    Envelope envelope;
    const auto err = decode_envelope(in.data, envelope);
    if (err == DecodeError::not_ours) {
        if (!sealed_) return false;                // the benchmark's plaintext ENet
        drop(PeerChannel::Drop::unauthenticated);  // nothing unsealed reaches ENet
        return true;
    }
    if (err != DecodeError::ok) {
        if (err == DecodeError::bad_version && in.from == server_)
            receiver.on_server_version(wire_version(in.data));
        drop(PeerChannel::Drop::malformed);
        return true;
    }
    switch (envelope.type) {
        case EnvelopeType::peer_probe: {
            // The tag names the introduction: no key is tried for a probe of none of ours.
            PeerLink* peer = links.by_probe_tag(tag_of(envelope.probe_nonce));
            if (peer == nullptr) {
                ++unknown_tags_;
                drop(PeerChannel::Drop::unauthenticated);
                return true;
            }
            if (!peer->admits(in.from)) {
                drop(PeerChannel::Drop::malformed);
                return true;
            }
            Message message;
            const auto why = peer->channel.open_probe(envelope, scratch_, message);
            if (why != PeerChannel::Drop::none) {
                drop(why);
                return true;
            }
            receiver.on_link_probe(*peer, message, in.from);
            const auto* probe = std::get_if<Probe>(&message);
            if (probe == nullptr || probe->connect.empty() ||
                !receiver.take_connect(*peer, probe->connect))
                return true;
            // The initiator's CONNECT, authenticated by the probe's box: ENet parses it from
            // where it lies in scratch_ (ENet rewrites its checksum slot there), like a PeerData.
            if (!enet_checksum_slot(probe->connect) || !links.admit_enet(*peer, probe->connect)) {
                drop(PeerChannel::Drop::malformed);
                return true;
            }
            in.data = probe->connect;
            return false;
        }
        case EnvelopeType::peer_data:
            return !on_data(envelope, in, links);
        default:
            if (in.from != server_) {
                drop(PeerChannel::Drop::malformed);  // only the server speaks these
                return true;
            }
            receiver.on_server(envelope, in.from);
            return true;
    }
}

// One sealed ENet datagram: opened in place inside ENet's buffer, and handed to ENet from where
// it came. True when ENet should parse it.
bool DatagramPath::on_data(const Envelope& envelope, Incoming& in, Links& links) {
    PeerLink* const found = sealed_ ? links.by_channel(envelope.channel) : nullptr;
    if (found == nullptr) {
        drop(PeerChannel::Drop::unauthenticated);
        return false;
    }
    PeerLink& peer = *found;
    if (!peer.admits(in.from)) {
        drop(PeerChannel::Drop::malformed);
        return false;
    }
    // The view is into ENet's own receive buffer, which is writable: open in place.
    auto* base = const_cast<std::uint8_t*>(envelope.box.data());
    std::span<const std::uint8_t> plain;
    const auto why = peer.channel.open_data(envelope, {base, envelope.box.size()}, plain);
    if (why != PeerChannel::Drop::none) {
        drop(why);
        return false;
    }
    // ENet 1.3.17 reads its checksum slot without checking the datagram holds it (protocol.c,
    // lines 1020-1021 and 1063): our peer's ENet always sends one, so anything shorter is not
    // ENet's.
    if (!enet_checksum_slot(plain) || !links.admit_enet(peer, plain)) {
        drop(PeerChannel::Drop::malformed);
        return false;
    }
    in.data = plain;
    return true;
}

}  // namespace netcore::detail
