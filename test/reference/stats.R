# Reference figures for test/unit/stats-reference.test.ts, from R's own tests.
# One case a line on standard input, one line of numbers (17 significant digits) out:
#   chisq <rows> <columns> <counts, row by row>  -> statistic df p, expected (row by row), stdres (row by row)
#   prop <x1> <n1> <x2> <n2>                     -> X-squared p   (x may be a weighted count, p * nEff)
#   wilson <x> <n>                               -> low high      (95%)
# Warnings about small expected counts are R's to give and the test's business, so they are muffled.

fmt <- function(v) paste(sprintf("%.17g", v), collapse = " ")

con <- file("stdin")
lines <- readLines(con)
close(con)

for (line in lines[nzchar(trimws(lines))]) {
  f <- strsplit(trimws(line), " +")[[1]]
  v <- as.numeric(f[-1])
  out <- switch(f[1],
    chisq = {
      m <- matrix(v[-(1:2)], nrow = v[1], ncol = v[2], byrow = TRUE)
      r <- suppressWarnings(chisq.test(m, correct = FALSE))
      c(r$statistic, r$parameter, r$p.value, t(r$expected), t(r$stdres))
    },
    prop = {
      r <- suppressWarnings(prop.test(v[c(1, 3)], v[c(2, 4)], correct = FALSE))
      c(r$statistic, r$p.value)
    },
    wilson = {
      r <- suppressWarnings(prop.test(v[1], v[2], correct = FALSE))
      r$conf.int
    },
    stop("unknown case: ", f[1])
  )
  cat(fmt(out), "\n", sep = "")
}
