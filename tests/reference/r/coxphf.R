# Reference values for analysis/firth.py: R's coxphf (Firth-penalised Cox regression).
#
# Provenance: the coxphf package (Heinze, Ploner, Jiricka; GPL), version 1.13.1, built from
# the vendored source ../shared/vendor/coxphf_1.13.1_source.tar.gz (see README.md here).
# Method: Heinze G & Schemper M (2001), "A solution to the problem of monotone likelihood
# in Cox regression", Biometrics 57:114-119. coxphf maximises l(b) + 1/2 log|I(b)| with
# Breslow ties (its only method), and reports sqrt(diag I(b)^-1) standard errors,
# profile penalised-likelihood intervals (pl = TRUE) and penalised likelihood-ratio
# p-values per term.
#
# Inputs (all in this repository, nothing downloaded):
#   tests/data/textbook/{aml,ovarian,lung}.csv   R survival's data sets, as in R
#   examples/uams_gse24080_mm/*.csv              GEO GSE24080 myeloma cohort (raw contract)
# Output: tests/reference/r/coxphf.json (15 significant digits; per-term values are
# arrays in term order). Every case holds the exact design matrix, times
# and events R used (the Python test rebuilds nothing) and, in "data", how they were made.
#
# Run from the repository root:  Rscript tests/reference/r/coxphf.R
# Deterministic: no random numbers, no dates of the run in the output.

suppressPackageStartupMessages({
    library(survival)
    library(coxphf)
    library(jsonlite)
})

stopifnot(file.exists("tests/data/textbook/aml.csv"))  # run from the repository root
output_path <- "tests/reference/r/coxphf.json"

# coxphf's defaults (epsilon = 1e-6 on the unit-SD coefficients, gconv = 1e-4 on the
# score, maxit = 50) stop early; these make its fit and its profile/test iterations
# converge far below the test tolerance. (They are arguments of coxphf() itself; there is
# no coxphf.control.) maxstep, maxhs and alpha stay at their defaults.
control <- list(maxit = 500, epsilon = 1e-10, gconv = 1e-10)

# --- data -------------------------------------------------------------------------------

textbook <- function(name) read.csv(file.path("tests/data/textbook", paste0(name, ".csv")))
aml <- textbook("aml")
ovarian <- textbook("ovarian")
lung <- textbook("lung")
lung$event <- as.integer(lung$status == 2)  # lung: status 1 = censored, 2 = dead

uams_dir <- "examples/uams_gse24080_mm"
patients <- read.csv(file.path(uams_dir, "patients.csv"), stringsAsFactors = FALSE)
expression <- read.csv(file.path(uams_dir, "expression.csv"), stringsAsFactors = FALSE)
b2m <- expression[expression$gene == "B2M", c("patient_id", "value")]
names(b2m)[2] <- "b2m"
uams <- merge(patients, b2m, by = "patient_id")  # complete cases: 563 of 565 have a B2M
uams <- uams[order(uams$patient_id), ]
uams$event <- as.integer(uams$death_date != "")
os_end <- ifelse(uams$event == 1, uams$death_date, uams$last_followup_date)
uams$time <- as.numeric(as.Date(os_end) - as.Date(uams$diagnosis_date))
uams$male <- as.integer(uams$sex == "M")
uams$b2m_above_q25 <- as.integer(uams$b2m > quantile(uams$b2m, 0.25, type = 7))
uams$iss_stage_iii <- as.integer(uams$iss_stage == "III")

# A 60-patient study: Total Therapy 3 patients diagnosed in 2008. Its B2M quartile cut is
# recomputed within it; the deaths of the patients at or below it are recoded as censored
# at their death day, so that level has no deaths (monotone likelihood: the Cox MLE of
# b2m_above_q25 is +infinity; coxph does not converge).
tt3 <- uams[uams$treatment == "TT3" & substr(uams$diagnosis_date, 1, 4) == "2008", ]
tt3$b2m_above_q25 <- as.integer(tt3$b2m > quantile(tt3$b2m, 0.25, type = 7))
tt3_low_deaths <- sum(tt3$event[tt3$b2m_above_q25 == 0])
tt3$event[tt3$b2m_above_q25 == 0] <- 0L

# The same construction on ovarian: age above its 25% quantile; the one death among the
# seven younger patients (329 days) is recoded as censored.
ovarian_young <- transform(
    ovarian,
    age_above_q25 = as.integer(age > quantile(age, 0.25, type = 7))
)
ovarian_young_deaths <- sum(ovarian_young$fustat[ovarian_young$age_above_q25 == 0])
ovarian_young$fustat[ovarian_young$age_above_q25 == 0] <- 0L

# --- fitting ------------------------------------------------------------------------------

# One UAMS patient died on the day of diagnosis (time 0). coxphf's fast right-censored
# path needs max(start) < min(stop); with Surv(time, event) the start is 0, so a time of 0
# sends it to its counting-process path, where that death has an empty risk set and every
# estimate is NaN. Every case is therefore given as Surv(start = -1, time, event): the
# same right-censored Breslow likelihood (checked below on aml), always on the fast path.
fit_case <- function(name, frame, time, event, terms, data_text) {
    frame <- frame[complete.cases(frame[, c(time, event, terms)]), ]
    cases <- data.frame(entry = -1, time = frame[[time]], event = frame[[event]])
    cases[terms] <- lapply(terms, function(term) as.numeric(frame[[term]]))
    formula <- as.formula(paste("Surv(entry, time, event) ~", paste(terms, collapse = " + ")))
    fit <- do.call(coxphf, c(list(formula = formula, data = cases), control))
    stopifnot(fit$iter < control$maxit, all(fit$iter.ci < control$maxit))
    # coxphf's p is 1 - pchisq(chisq): coxphftest gives the chi-square itself.
    chisq <- vapply(terms, function(term) {
        test <- do.call(coxphftest, c(list(
            formula = formula, data = cases, test = as.formula(paste("~", term)),
            maxit = control$maxit, epsilon = control$epsilon
        )))
        2 * diff(test$loglik)
    }, numeric(1))
    message(sprintf("%-32s n = %3d, events = %3d, iterations = %d", name, nrow(cases),
                    sum(cases$event), fit$iter))
    list(
        name = name,
        data = data_text,
        terms = I(terms),
        x = unname(as.matrix(cases[terms])),
        time = cases$time,
        event = cases$event,
        coef = I(unname(fit$coefficients)),
        se = I(unname(sqrt(diag(fit$var)))),
        hazard_ratio = I(unname(exp(fit$coefficients))),
        ci_lower = I(unname(fit$ci.lower)),
        ci_upper = I(unname(fit$ci.upper)),
        p = I(unname(fit$prob)),
        chisq = I(unname(chisq)),
        loglik_null_unit_sd = fit$loglik[1],
        loglik_unit_sd = fit$loglik[2],
        column_sd = I(unname(vapply(terms, function(term) sd(cases[[term]]), numeric(1)))),
        lr_chisq = 2 * diff(fit$loglik),
        iterations = fit$iter
    )
}

# Surv(start = -1, ...) is the right-censored likelihood: the same numbers as Surv(time, ...)
aml_numeric <- data.frame(time = aml$time, status = aml$status,
                          x = as.numeric(aml$x == "Nonmaintained"))
plain <- do.call(coxphf, c(list(formula = Surv(time, status) ~ x, data = aml_numeric), control))
entry <- do.call(coxphf, c(list(formula = Surv(rep(-1, 23), time, status) ~ x,
                                data = aml_numeric), control))
stopifnot(isTRUE(all.equal(plain$coefficients, entry$coefficients, tolerance = 1e-13)),
          isTRUE(all.equal(plain$ci.upper, entry$ci.upper, tolerance = 1e-13)))

cases <- list(
    fit_case("aml_x", aml_numeric, "time", "status", "x",
             "aml; x = 1 for Nonmaintained (R's xNonmaintained), 23 patients"),
    fit_case("ovarian_age_ecog_rx", ovarian, "futime", "fustat", c("age", "ecog.ps", "rx"),
             "ovarian; age, ecog.ps (1/2) and rx (1/2) as numbers, as in R's examples"),
    fit_case("lung_sex", lung, "time", "event", "sex",
             "lung; event = status == 2; sex (1 = male, 2 = female) as a number; tied times"),
    fit_case("lung_age_sex", lung, "time", "event", c("age", "sex"),
             "lung; event = status == 2; age + sex (numbers), complete cases; tied times"),
    fit_case("uams_b2m_sex", uams, "time", "event", c("b2m_above_q25", "male"),
             paste("UAMS GSE24080, the 563 of 565 patients with a serum B2M; OS days = death",
                   "or last follow-up minus diagnosis (one death on day 0); b2m_above_q25 =",
                   "B2M > its R type 7 25% quantile; male = sex M")),
    fit_case("uams_tt3_2008_monotone", tt3, "time", "event", "b2m_above_q25",
             paste0("UAMS, Total Therapy 3 patients diagnosed in 2008 (", nrow(tt3), "); ",
                    "b2m_above_q25 from this subset's type 7 25% quantile; the ",
                    tt3_low_deaths, " deaths at or below it recoded as censored at their ",
                    "death day, so that level has no deaths (Cox MLE +infinity)")),
    fit_case("uams_tt3_2008_monotone_adjusted", tt3, "time", "event",
             c("b2m_above_q25", "iss_stage_iii"),
             paste("As uams_tt3_2008_monotone, plus iss_stage_iii (ISS stage III, high",
                   "risk): estimable; b2m_above_q25 is not (Cox MLE +infinity)")),
    fit_case("ovarian_monotone", ovarian_young, "futime", "fustat", "age_above_q25",
             paste0("ovarian; age_above_q25 = age > its type 7 25% quantile; the ",
                    ovarian_young_deaths, " death among the younger patients recoded as ",
                    "censored, so that level has no deaths (Cox MLE +infinity)")),
    fit_case("ovarian_monotone_adjusted", ovarian_young, "futime", "fustat",
             c("age_above_q25", "ecog.ps"),
             "As ovarian_monotone, plus ecog.ps (1/2, a number): estimable")
)

reference <- list(
    generated_by = "tests/reference/r/coxphf.R",
    r_version = R.version.string,
    coxphf_version = as.character(packageVersion("coxphf")),
    survival_version = as.character(packageVersion("survival")),
    control = c(control, list(maxstep = 0.5, maxhs = 5, alpha = 0.05, pl = TRUE,
                              firth = TRUE, ties = "breslow")),
    notes = paste(
        "coef/se/hazard_ratio/ci_* as coxphf reports them (original covariate units);",
        "p = coxphf's penalised LR p (1 - pchisq), chisq = the same statistic from",
        "coxphftest(test = ~ term); loglik_*_unit_sd = coxphf's penalised log-likelihoods,",
        "computed on covariates scaled to unit SD (add sum(log(column_sd)) for the",
        "covariates as given); lr_chisq = 2 * diff(loglik), the model test vs b = 0."
    ),
    cases = cases
)
writeLines(toJSON(reference, auto_unbox = TRUE, digits = NA, pretty = FALSE,
                  matrix = "rowmajor"), output_path)
message("wrote ", output_path)
