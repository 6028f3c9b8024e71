#include "kernels/thread_pool.h"

#include <algorithm>

#include <immintrin.h>

namespace lockstep::kernels {
namespace {

// About 10-50 microseconds of polling before a thread goes to sleep.
constexpr int kSpinIterations = 1 << 12;

template <class Done>
void spin_then_wait(std::atomic<uint32_t>& value, uint32_t old, Done done) {
    for (int i = 0; i < kSpinIterations; ++i) {
        if (done()) return;
        _mm_pause();
    }
    while (!done()) value.wait(old, std::memory_order_acquire);
}

}  // namespace

ThreadPool::ThreadPool(int n_threads) {
    if (n_threads <= 0) n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    workers_.reserve(static_cast<size_t>(n_threads - 1));
    for (int t = 1; t < n_threads; ++t) workers_.emplace_back([this, t] { worker_loop(t); });
}

ThreadPool::~ThreadPool() {
    stopping_.store(true, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_acq_rel);
    generation_.notify_all();
    for (auto& w : workers_) w.join();
}

void ThreadPool::work(int thread) {
    for (int64_t task; (task = next_task_.fetch_add(1, std::memory_order_relaxed)) < n_tasks_;)
        trampoline_(fn_, task, thread);
}

void ThreadPool::run_erased(int64_t n_tasks, void* fn, Trampoline trampoline) {
    n_tasks_ = n_tasks;
    fn_ = fn;
    trampoline_ = trampoline;
    next_task_.store(0, std::memory_order_relaxed);
    busy_.store(static_cast<uint32_t>(workers_.size()), std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);  // publishes the job to the workers
    generation_.notify_all();
    work(0);
    // Wait for the workers to leave the loop before the job (and fn) goes out of scope.
    for (uint32_t b; (b = busy_.load(std::memory_order_acquire)) != 0;)
        spin_then_wait(busy_, b, [&] { return busy_.load(std::memory_order_acquire) != b; });
}

void ThreadPool::worker_loop(int thread) {
    uint32_t seen = 0;
    for (;;) {
        spin_then_wait(generation_, seen, [&] { return generation_.load(std::memory_order_acquire) != seen; });
        seen = generation_.load(std::memory_order_acquire);
        if (stopping_.load(std::memory_order_acquire)) return;
        work(thread);
        busy_.fetch_sub(1, std::memory_order_acq_rel);
        busy_.notify_one();  // only the calling thread ever waits on busy_
    }
}

}  // namespace lockstep::kernels
