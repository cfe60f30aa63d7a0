/* A small MPI program for the SLURM tests, built by the test scripts with mpicc.
 *
 *   mpi_probe                  each rank prints one line: rank, world size, SLURM's view of
 *                              where it runs, and the result of an all-reduce over the world
 *   mpi_probe train [--set run.root=DIR] [--set run.name=NAME] [--set train.max_steps=N] ...
 *                              the trainer's SLURM contract in miniature, for testing the job
 *                              scripts: N steps of 0.2 s with an all-reduce each; SIGUSR1 or
 *                              SIGTERM ends the current step, rank 0 records the step in
 *                              <root>/<name>-<job id>/checkpoints/latest and every rank exits
 *                              85; a later start continues from there ("resumed from step K").
 *                              Other arguments are ignored.
 */
#include <errno.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static volatile sig_atomic_t stop_requested = 0;
static void on_stop(int sig) {
  (void)sig;
  stop_requested = 1;
}

static const char* env_or(const char* name, const char* fallback) {
  const char* v = getenv(name);
  return v ? v : fallback;
}

static void make_dirs(const char* path) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  for (char* p = buf + 1; *p; ++p) {
    if (*p == '/') {
      *p = '\0';
      mkdir(buf, 0755);
      *p = '/';
    }
  }
  if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
    perror(buf);
    MPI_Abort(MPI_COMM_WORLD, 3);
  }
}

static int probe(int rank, int size) {
  int one = rank, sum = 0;
  MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  printf("probe rank=%d size=%d procid=%s nodeid=%s node=%s allreduce_sum=%d\n", rank, size,
         env_or("SLURM_PROCID", "-"), env_or("SLURM_NODEID", "-"), env_or("SLURMD_NODENAME", "-"),
         sum);
  return 0;
}

static int train(int rank, int size, int argc, char** argv) {
  const char* root = "runs";
  const char* name = "probe";
  long max_steps = 20;
  for (int i = 2; i + 1 < argc; ++i) {
    if (strcmp(argv[i], "--set") != 0) continue;
    const char* kv = argv[++i];
    if (strncmp(kv, "run.root=", 9) == 0) root = kv + 9;
    if (strncmp(kv, "run.name=", 9) == 0) name = kv + 9;
    if (strncmp(kv, "train.max_steps=", 16) == 0) max_steps = atol(kv + 16);
  }
  char dir[4096], latest[4200];
  snprintf(dir, sizeof dir, "%s/%s-%s/checkpoints", root, name, env_or("SLURM_JOB_ID", "0"));
  snprintf(latest, sizeof latest, "%s/latest", dir);

  long start = 0;
  if (rank == 0) {
    make_dirs(dir);
    FILE* f = fopen(latest, "r");
    if (f) {
      if (fscanf(f, "%ld", &start) != 1) start = 0;
      fclose(f);
    }
    printf("topology world_size=%d num_nodes=%s launcher=slurm\n", size,
           env_or("SLURM_JOB_NUM_NODES", "1"));
    if (start > 0) printf("resumed from step %ld\n", start);
    fflush(stdout);
  }
  MPI_Bcast(&start, 1, MPI_LONG, 0, MPI_COMM_WORLD);

  for (long step = start + 1; step <= max_steps; ++step) {
    struct timespec pause = {0, 200 * 1000 * 1000};
    nanosleep(&pause, NULL);
    /* Stop when any rank has seen the signal, at the same step on every rank. */
    int mine = stop_requested, any = 0;
    MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (rank == 0) {
      printf("step=%ld/%ld loss=%.4f\n", step, max_steps, 10.0 / (double)step);
      fflush(stdout);
    }
    if (any) {
      if (rank == 0) {
        FILE* f = fopen(latest, "w");
        if (!f) {
          perror(latest);
          MPI_Abort(MPI_COMM_WORLD, 3);
        }
        fprintf(f, "%ld\n", step);
        fclose(f);
        printf("checkpoint saved at step %ld (reason: preempted)\n", step);
        fflush(stdout);
      }
      MPI_Finalize();
      return 85;
    }
  }
  if (rank == 0) printf("train_summary steps=%ld\n", max_steps);
  return 0;
}

int main(int argc, char** argv) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int rc = 0;
  if (argc > 1 && strcmp(argv[1], "train") == 0) {
    rc = train(rank, size, argc, argv);
    if (rc == 85) return rc; /* already finalized */
  } else {
    rc = probe(rank, size);
  }
  MPI_Finalize();
  return rc;
}
