// Fuzzes the STUN Binding parser: no crash, no out-of-bounds read, and every request it accepts
// gets a response that itself parses as well-formed STUN with the same transaction id.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "stun.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace stun = rendezvous::stun;
    const std::span<const std::uint8_t> in(data, size);
    stun::BindingRequest request;
    const auto result = stun::parse(in, request);
    if (result != stun::Result::binding_request) return 0;

    std::array<std::uint8_t, stun::kMaxResponseSize> out{};
    const netcore::Address mapped{0xCB007107u, 5000};
    const auto n = stun::write_binding_response(request, mapped, out);
    if (n == 0 || n % 4 != 0) std::abort();
    // A success response is not a request, so it must parse as valid STUN we do not answer.
    stun::BindingRequest again;
    const auto back = stun::parse(std::span<const std::uint8_t>(out.data(), n), again);
    if (!request.classic && back != stun::Result::not_binding_request) std::abort();
    for (std::size_t i = 0; i < request.transaction.size(); ++i)
        if (out[4 + i] != request.transaction[i]) std::abort();
    return 0;
}
