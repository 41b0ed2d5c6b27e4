#include "modules/squares/messages.hpp"

#include <bit>
#include <cmath>

#include "modules/squares/game_state.hpp"

namespace squares {
namespace {

bool printable_name(const std::string& name) {
    if (name.empty() || name.size() > kMaxNameLength) return false;
    for (char c : name) {
        if (c < 0x20 || c > 0x7e) return false;
    }
    return true;
}

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

/// A cursor that never reads past the end: every get fails once the bytes run out.
class Reader {
  public:
    explicit Reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
    bool u8(std::uint8_t& v) {
        if (at_ + 1 > bytes_.size()) return false;
        v = bytes_[at_++];
        return true;
    }
    bool u32(std::uint32_t& v) {
        if (at_ + 4 > bytes_.size()) return false;
        v = 0;
        for (std::size_t i = 0; i < 4; ++i) v |= std::uint32_t{bytes_[at_ + i]} << (8 * i);
        at_ += 4;
        return true;
    }
    bool f32(float& v) {
        std::uint32_t bits = 0;
        if (!u32(bits)) return false;
        v = std::bit_cast<float>(bits);
        return true;
    }
    bool text(std::size_t n, std::string& v) {
        if (at_ + n > bytes_.size()) return false;
        v.assign(reinterpret_cast<const char*>(bytes_.data() + at_), n);
        at_ += n;
        return true;
    }
    [[nodiscard]] bool done() const { return at_ == bytes_.size(); }

  private:
    std::span<const std::uint8_t> bytes_;
    std::size_t at_ = 0;
};

bool inside_arena(float x, float y) {
    return std::isfinite(x) && std::isfinite(y) && x >= 0.0f && x <= kArenaWidth && y >= 0.0f &&
           y <= kArenaHeight;
}

}  // namespace

std::vector<std::uint8_t> encode(const Message& message) {
    std::vector<std::uint8_t> out{kWireVersion};
    if (const auto* hello = std::get_if<Hello>(&message)) {
        if (!printable_name(hello->name)) return {};
        out.push_back(static_cast<std::uint8_t>(Kind::hello));
        out.push_back(static_cast<std::uint8_t>(hello->name.size()));
        out.insert(out.end(), hello->name.begin(), hello->name.end());
        out.insert(out.end(), {hello->color.r, hello->color.g, hello->color.b});
    } else if (const auto* state = std::get_if<StateUpdate>(&message)) {
        if (!inside_arena(state->x, state->y)) return {};
        out.push_back(static_cast<std::uint8_t>(Kind::state));
        put_u32(out, state->tick);
        put_u32(out, std::bit_cast<std::uint32_t>(state->x));
        put_u32(out, std::bit_cast<std::uint32_t>(state->y));
    } else {
        out.push_back(static_cast<std::uint8_t>(Kind::leave));
    }
    return out;
}

std::optional<Message> decode(std::span<const std::uint8_t> bytes) {
    Reader in(bytes);
    std::uint8_t version = 0;
    std::uint8_t kind = 0;
    if (!in.u8(version) || version != kWireVersion || !in.u8(kind)) return std::nullopt;

    switch (static_cast<Kind>(kind)) {
        case Kind::hello: {
            Hello hello;
            std::uint8_t length = 0;
            if (!in.u8(length) || !in.text(length, hello.name) || !printable_name(hello.name) ||
                !in.u8(hello.color.r) || !in.u8(hello.color.g) || !in.u8(hello.color.b) ||
                !in.done()) {
                return std::nullopt;
            }
            return hello;
        }
        case Kind::state: {
            StateUpdate state;
            if (!in.u32(state.tick) || !in.f32(state.x) || !in.f32(state.y) || !in.done() ||
                !inside_arena(state.x, state.y)) {
                return std::nullopt;
            }
            return state;
        }
        case Kind::leave:
            if (!in.done()) return std::nullopt;
            return Leave{};
    }
    return std::nullopt;
}

}  // namespace squares
