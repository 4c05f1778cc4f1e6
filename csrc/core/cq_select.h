/*
 * cq_select.h -- quickselect (Hoare's FIND), written once and instantiated per element type.
 *
 * Math: FIND rearranges a[0..n) so that the element of rank kth (0-based, ascending by key)
 * stands at a[kth], with key(a[t]) <= key(a[kth]) <= key(a[u]) for every t < kth < u. Each
 * step partitions a[lo..hi] around a pivot key p: i scans up past keys < p, j scans down
 * past keys > p, the two elements are swapped, until i and j cross; then a[lo..j] holds
 * keys <= p and a[i..hi] keys >= p, and the step keeps the side that holds kth (or stops
 * when kth lies between j and i, where every key equals p). Expected O(n) comparisons.
 * Source: C. A. R. Hoare, "Algorithm 65: Find", Communications of the ACM 4(7), 1961; the
 * partition is that of C. A. R. Hoare, "Quicksort", The Computer Journal 5(1), 1962,
 * section 2 ("Partition").
 *
 * Use: define the four parameters below, then #include "core/cq_select.h" (once per
 * instance; the parameters are #undef'd at the end):
 *   CQ_SELECT_NAME                   the function's name
 *   CQ_SELECT_T                      the element type
 *   CQ_SELECT_KEY(a, i)              the key (a double) of element a[i]; it may read the
 *                                    function's parameter `key` (a caller's side table)
 *   CQ_SELECT_PIVOT(a, lo, mid, hi)  the pivot key chosen from a[lo..hi], mid their middle
 * It defines
 *   static void CQ_SELECT_NAME(CQ_SELECT_T *a, size_t n, size_t kth, const double *key)
 * which does nothing when kth >= n. The pivot rule is the instance's: which of several equal
 * keys ends at a given place depends on it, so each caller keeps the rule it was built with.
 */
#include <stddef.h>

#ifndef CQ_SELECT_H
#define CQ_SELECT_H
/* The median of x, y, z (a pivot rule robust to sorted and reverse-sorted input). */
static inline double cq_median3(double x, double y, double z)
{
    return x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
}
#endif /* CQ_SELECT_H */

#if !defined(CQ_SELECT_NAME) || !defined(CQ_SELECT_T) || !defined(CQ_SELECT_KEY) || !defined(CQ_SELECT_PIVOT)
#error "cq_select.h: define CQ_SELECT_NAME, CQ_SELECT_T, CQ_SELECT_KEY and CQ_SELECT_PIVOT first"
#endif

static void CQ_SELECT_NAME(CQ_SELECT_T *a, size_t n, size_t kth, const double *key)
{
    (void)key;
    if (kth >= n) return;
    ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, target = (ptrdiff_t)kth;
    while (hi > lo) {
        double pivot = CQ_SELECT_PIVOT(a, lo, lo + (hi - lo) / 2, hi);
        ptrdiff_t i = lo, j = hi;
        while (i <= j) {
            while (CQ_SELECT_KEY(a, i) < pivot) i++;
            while (CQ_SELECT_KEY(a, j) > pivot) j--;
            if (i <= j) {
                CQ_SELECT_T t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        }
        if (target <= j) hi = j;
        else if (target >= i) lo = i;
        else break;
    }
}

#undef CQ_SELECT_NAME
#undef CQ_SELECT_T
#undef CQ_SELECT_KEY
#undef CQ_SELECT_PIVOT
