// Encoding replies into the outbox.
#include "outbox.hpp"

#include <algorithm>

namespace rendezvous {

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
