// Encoding replies into the outbox.
#include "outbox.hpp"

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

}  // namespace rendezvous
