// Turns a sequence's token pieces into text safe to hand out: whole UTF-8 characters only, never a partial stop string.
// Threading: a TextStream belongs to one sequence of one decode loop and is used only on that loop's thread.
#pragma once

#include <string>
#include <vector>

namespace rfx {

class TextStream {
  public:
    explicit TextStream(std::vector<std::string> stops) : stops_(std::move(stops)) {
        for (auto & s : stops_) max_stop_ = std::max(max_stop_, s.size());
    }

    // Appends a piece's bytes; returns true when a stop string completed (text is then cut before it).
    bool push(const char * bytes, size_t n) {
        pending_.append(bytes, n);
        // Only whole UTF-8 characters move into text_, so stop matching and hand-out never split one.
        size_t complete = complete_prefix(pending_);
        if (complete == 0) return false;
        size_t from = text_.size() > max_stop_ ? text_.size() - max_stop_ : 0;
        text_.append(pending_, 0, complete);
        pending_.erase(0, complete);
        if (stops_.empty()) return false;
        size_t best = std::string::npos;
        for (auto & s : stops_) {
            size_t p = text_.find(s, from);
            if (p != std::string::npos && p < best) best = p;
        }
        if (best != std::string::npos) {
            text_.resize(best);
            pending_.clear();
            stopped_ = true;
            return true;
        }
        return false;
    }

    // Text that can be handed out now: held back is any tail that could still grow into a stop string.
    std::string take_ready() {
        size_t limit = text_.size();
        if (!stopped_) limit -= held_tail();
        if (limit <= emitted_) return {};
        std::string out = text_.substr(emitted_, limit - emitted_);
        emitted_ = limit;
        return out;
    }

    // Everything not yet handed out, at the end of generation (incomplete UTF-8 bytes included, lossily).
    std::string take_rest() {
        if (!stopped_ && !pending_.empty()) {
            text_.append(pending_);
            pending_.clear();
        }
        std::string out = emitted_ < text_.size() ? text_.substr(emitted_) : std::string();
        emitted_ = text_.size();
        return out;
    }

  private:
    static size_t complete_prefix(const std::string & s) {
        // Walk back over at most 3 continuation bytes to find the last lead byte and check its length.
        size_t n = s.size();
        size_t i = n;
        int back = 0;
        while (i > 0 && back < 4) {
            unsigned char c = (unsigned char) s[i - 1];
            if ((c & 0xC0) != 0x80) {
                size_t need = (c < 0x80) ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
                return (n - (i - 1) >= need) ? n : i - 1;
            }
            --i;
            ++back;
        }
        return n;  // not valid UTF-8 at all: pass it through rather than hold it forever
    }

    size_t held_tail() const {
        size_t best = 0;
        for (auto & s : stops_) {
            size_t maxk = std::min(s.size() - 1, text_.size() - emitted_);
            for (size_t k = maxk; k > best; --k) {
                if (text_.compare(text_.size() - k, k, s, 0, k) == 0) {
                    best = k;
                    break;
                }
            }
        }
        return best;
    }

    std::vector<std::string> stops_;
    size_t max_stop_ = 0;
    std::string pending_;
    std::string text_;
    size_t emitted_ = 0;
    bool stopped_ = false;
};

}  // namespace rfx
