# The reference for src/weighting/rake.ts: R's survey package rakes the same
# respondents to the same population figures. Run by test/unit/weighting-r.test.ts:
#   Rscript test/reference/rake.R EPSILON DIR...
# (calibrate's epsilon, with maxit = 100.) The variables raked on are those in
# the environment variable VARIABLES (comma-separated), else age, sex and ethnic_group.
# Each DIR holds respondents.csv (id, district, age, sex, ethnic_group, concern,
# ticks; empty = not answered; ticks joined by ";") and population.csv (the
# targets file). Writes status.csv (per district: did calibrate converge?),
# margins.csv (each district's margins scaled to its share) and, when every
# district converged, weights.csv, summary.csv and proportions.csv beside them.
# Everything here is worked out from those two files alone, not from the
# TypeScript's results: the district shares, the scaled margins, the weights,
# the design effects, the proportions and their intervals.

suppressPackageStartupMessages(library(survey))

chosen <- Sys.getenv("VARIABLES")
variables <- if (nzchar(chosen)) strsplit(chosen, ",", fixed = TRUE)[[1]] else c("age", "sex", "ethnic_group")
z <- qnorm(0.975)
full <- function(x) format(x, digits = 17, scientific = TRUE)

args <- commandArgs(trailingOnly = TRUE)
epsilon <- as.numeric(args[1])

for (dir in args[-1]) {
  respondents <- read.csv(file.path(dir, "respondents.csv"), colClasses = "character", na.strings = "")
  population <- read.csv(file.path(dir, "population.csv"), colClasses = c(population = "numeric"))
  districts <- unique(population$district)

  # Weighted: a district with figures and an answer to every variable.
  usable <- respondents[respondents$district %in% districts & complete.cases(respondents[, variables]), ]
  n <- nrow(usable)
  # Each district's weights add to its share of the adults (the age figures) times n.
  adults <- sapply(districts, function(d) sum(population$population[population$district == d & population$variable == "age"]))
  share <- adults / sum(adults)

  weighted <- list()
  converged <- c()
  margins <- NULL
  for (d in districts) {
    sub <- usable[usable$district == d, ]
    total <- share[[d]] * n
    totals <- c(`(Intercept)` = total)
    for (v in variables) {
      rows <- population[population$district == d & population$variable == v, ]
      sub[[v]] <- factor(sub[[v]], levels = rows$category)
      margin <- rows$population / sum(rows$population) * total
      margins <- rbind(margins, data.frame(district = d, variable = v, category = rows$category, total = full(margin)))
      names(margin) <- paste0(v, rows$category)
      totals <- c(totals, margin[-1])
    }
    sub$start <- 1
    design <- svydesign(ids = ~1, data = sub, weights = ~start)
    # calibrate stops with "Calibration failed" when the margins are not met within maxit.
    raked <- tryCatch(
      suppressWarnings(calibrate(design, reformulate(variables), population = totals,
                                 calfun = "raking", epsilon = epsilon, maxit = 100)),
      error = function(e) NULL)
    converged[[d]] <- !is.null(raked)
    if (!is.null(raked)) {
      sub$weight <- weights(raked)
      weighted[[d]] <- sub
    }
  }
  write.csv(data.frame(district = districts, converged = unlist(converged)), file.path(dir, "status.csv"), row.names = FALSE)
  write.csv(margins, file.path(dir, "margins.csv"), row.names = FALSE)
  if (!all(unlist(converged))) next
  all <- do.call(rbind, weighted)
  write.csv(data.frame(id = all$id, weight = full(all$weight)), file.path(dir, "weights.csv"), row.names = FALSE)

  kish <- function(w) length(w) * sum(w^2) / sum(w)^2
  scopes <- c(districts, "overall")
  deffs <- c(sapply(districts, function(d) kish(weighted[[d]]$weight)), kish(all$weight))
  write.csv(data.frame(scope = scopes, deff = full(deffs)), file.path(dir, "summary.csv"), row.names = FALSE)

  # Proportions among those who answered, by svymean on a design with R's weights.
  design <- svydesign(ids = ~1, data = all, weights = ~weight)
  out <- NULL
  wilson <- function(p, neff) {
    centre <- p + z^2 / (2 * neff)
    spread <- z * sqrt(p * (1 - p) / neff + z^2 / (4 * neff^2))
    c((centre - spread) / (1 + z^2 / neff), (centre + spread) / (1 + z^2 / neff))
  }
  answered <- !is.na(all$concern)
  sub <- subset(design, answered)
  estimate <- coef(svymean(~ factor(concern), sub))
  w <- all$weight[answered]
  neff <- sum(w)^2 / sum(w^2)
  for (code in sort(unique(all$concern[answered]))) {
    p <- estimate[[paste0("factor(concern)", code)]]
    out <- rbind(out, data.frame(question = "concern", code = code, proportion = full(p),
                                 lower = full(wilson(p, neff)[1]), upper = full(wilson(p, neff)[2]),
                                 base = sum(answered), neff = full(neff)))
  }
  answered <- !is.na(all$ticks)
  # Named apart from the ticks column: update() evaluates in the design's data first.
  ticked <- strsplit(ifelse(answered, all$ticks, ""), ";", fixed = TRUE)
  w <- all$weight[answered]
  neff <- sum(w)^2 / sum(w^2)
  for (code in sort(unique(unlist(ticked)))) {
    design <- update(design, tick = as.numeric(sapply(ticked, function(t) code %in% t)))
    p <- coef(svymean(~tick, subset(design, answered)))[["tick"]]
    out <- rbind(out, data.frame(question = "ticks", code = code, proportion = full(p),
                                 lower = full(wilson(p, neff)[1]), upper = full(wilson(p, neff)[2]),
                                 base = sum(answered), neff = full(neff)))
  }
  write.csv(out, file.path(dir, "proportions.csv"), row.names = FALSE)
}
