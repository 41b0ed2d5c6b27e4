// Fuzzes netcore::protocol::decode: it must never crash or read out of bounds, and whatever it
// accepts must encode back to exactly the same bytes (the format has one encoding per message).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "netcore/protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace protocol = netcore::protocol;
    const std::span<const std::uint8_t> in(data, size);
    protocol::Message msg;
    if (protocol::decode(in, msg) != protocol::DecodeError::ok) return 0;

    std::array<std::uint8_t, protocol::kMaxDatagramSize> out{};
    const auto n = protocol::encode(msg, out);
    if (n != size || std::memcmp(out.data(), data, size) != 0) std::abort();  // no round trip
    return 0;
}
