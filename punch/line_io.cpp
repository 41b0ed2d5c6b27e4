// punch — line splitting and framing.
#include "line_io.hpp"

#include <algorithm>
#include <cstdint>

namespace punch {

void LineSplitter::feed(std::span<const char> bytes) {
    if (finished_ || overflowed_) return;
    // Drop the lines already taken before growing, so the buffer holds one line at most plus
    // what arrived with it.
    if (start_ > 0 && start_ >= buffer_.size() / 2) {
        buffer_.erase(0, start_);
        start_ = 0;
    }
    buffer_.append(bytes.data(), bytes.size());
}

void LineSplitter::finish() {
    if (finished_) return;
    finished_ = true;
    if (!overflowed_ && start_ < buffer_.size() && buffer_.back() != '\n') buffer_.push_back('\n');
}

bool LineSplitter::next(std::string& line) {
    if (overflowed_) return false;
    const auto from = buffer_.begin() + static_cast<std::ptrdiff_t>(start_ + scan_);
    const auto newline = std::find(from, buffer_.end(), '\n');
    if (newline == buffer_.end()) {
        scan_ = buffer_.size() - start_;
        if (scan_ > max_line_length_) overflowed_ = true;
        return false;
    }
    const auto end = static_cast<std::size_t>(newline - buffer_.begin()) + 1;
    if (end - start_ - 1 > max_line_length_) {
        overflowed_ = true;
        return false;
    }
    line.assign(buffer_, start_, end - start_);
    start_ = end;
    scan_ = 0;
    ++lines_taken_;
    if (start_ == buffer_.size()) {
        buffer_.clear();
        start_ = 0;
    }
    return true;
}

bool LineSplitter::pending() const {
    if (overflowed_) return false;
    const auto from = buffer_.begin() + static_cast<std::ptrdiff_t>(start_ + scan_);
    return std::find(from, buffer_.end(), '\n') != buffer_.end();
}

Incoming classify(std::span<const std::uint8_t> message) {
    if (message.size() == 1 && message[0] == static_cast<std::uint8_t>(kEndOfInput))
        return Incoming::end_of_input;
    return Incoming::line;
}

std::string printable(std::span<const std::uint8_t> message) {
    std::string out(message.begin(), message.end());
    if (out.empty() || out.back() != '\n') out.push_back('\n');
    return out;
}

std::string printable_from(std::string_view sender, std::span<const std::uint8_t> message) {
    std::string out(sender);
    out += ": ";
    out += printable(message);
    return out;
}

}  // namespace punch
