// Encoding replies into the outbox.
#include "outbox.hpp"

#include <algorithm>

namespace rendezvous {

bool Outbox::push(netcore::Address to, const netcore::protocol::Message& msg) {
    Datagram& d = items_.emplace_back();
    d.to = to;
    d.size = netcore::protocol::encode(msg, d.bytes);
    if (d.size == 0) {
        items_.pop_back();
        return false;
    }
    return true;
}

bool Outbox::push_bytes(netcore::Address to, std::span<const std::uint8_t> bytes) {
    Datagram d;
    if (bytes.size() > d.bytes.size()) return false;
    d.to = to;
    std::copy(bytes.begin(), bytes.end(), d.bytes.begin());
    d.size = bytes.size();
    items_.push_back(d);
    return true;
}

}  // namespace rendezvous
