"""docs/errors.md stays true: every test it cites exists, every "patch N"
is the section of relkd_mm.compat that implements it, and every check
of the reliability issue has its row."""
import glob
import os.path as osp
import re

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DOC = osp.join(REPO, 'docs', 'errors.md')
#: The modules that hold the numbered patches of relkd_mm.compat.
COMPAT = sorted(glob.glob(osp.join(REPO, 'relkd_mm', 'compat', '**', '*.py'),
                          recursive=True))

#: A row per case of the issue (safe loading, resume, random teachers,
#: checkpoints that survive a kill, resumes that change the run, bad data,
#: configs and tools): the test each row cites.
REQUIRED = [
    'test_runner/test_safe_loading.py::test_env_force_no_weights_only_does_not_switch_it_off',  # noqa: E501
    'test_runner/test_safe_loading.py::test_torch_before_2_6_is_safe_too',
    'test_runner/test_safe_resume.py::test_resume_from_a_crafted_file_runs_nothing',  # noqa: E501
    'test_runner/test_safe_resume.py::test_planted_last_checkpoint_runs_nothing',  # noqa: E501
    'test_runner/test_random_teacher.py::test_distillation_config_without_teacher_refuses_to_train',  # noqa: E501
    'test_runner/test_random_teacher.py::test_values_that_are_no_fitting_tensor_fail_the_strict_check',  # noqa: E501
    'test_runner/test_atomic_checkpoints.py::test_kill_during_the_save_keeps_the_previous_checkpoint',  # noqa: E501
    'test_runner/test_atomic_checkpoints.py::test_damaged_latest_checkpoint',
    'test_runner/test_atomic_checkpoints.py::test_full_disk_names_the_work_dir_and_leaves_nothing_partial',  # noqa: E501
    'test_runner/test_resume_changes.py::test_longer_schedule_on_resume_is_refused',  # noqa: E501
    'test_runner/test_resume_changes.py::test_other_optimizer_type_on_resume_is_refused',  # noqa: E501
    'test_runner/test_resume_changes.py::test_longer_training_on_the_same_schedule_goes_on',  # noqa: E501
    'test_errors/test_input_errors.py::test_flat_image_rows_are_an_error',
    'test_errors/test_input_errors.py::test_empty_dataset',
    'test_errors/test_input_errors.py::test_image_channels_differ_from_in_channels',  # noqa: E501
    'test_errors/test_config_values.py::test_recorder_of_a_tuple_names_recorder_loss_and_data_idx',  # noqa: E501
    'test_errors/test_config_values.py::test_numbers_given_as_strings',
    'test_errors/test_config_values.py::test_negative_loss_weight',
    'test_errors/test_config_values.py::test_rrd_memory_smaller_than_vrm_rows_per_step',  # noqa: E501
    'test_errors/test_config_values.py::test_misspelt_top_level_key_is_warned',  # noqa: E501
    'test_errors/test_teacher_errors.py::test_nan_teacher_checkpoint_is_named_at_load',  # noqa: E501
    'test_errors/test_teacher_errors.py::test_offline_zoo_teacher_is_named_before_the_data',  # noqa: E501
    'test_errors/test_teacher_errors.py::test_missing_imagenet_names_the_layout_and_the_key',  # noqa: E501
    'test_tools/test_tool_errors.py::test_train_refilled_stage_two_with_a_comma_in_the_work_dir',  # noqa: E501
    'test_tools/test_tool_errors.py::test_deploy_a_distillation_config_says_export_the_student',  # noqa: E501
    'test_tools/test_tool_errors.py::test_missing_cfg_path_names_the_path_as_written',  # noqa: E501
    # Reliability III (issue 19): the BAD cases ...
    'test_runner/test_hostile_checkpoints.py::test_planted_last_checkpoint_in_staged_run_runs_nothing',  # noqa: E501
    'test_runner/test_hostile_checkpoints.py::test_train_refilled_resume_of_a_copied_work_dir_runs_nothing',  # noqa: E501
    'test_runner/test_hostile_checkpoints.py::test_benchmark_resume_of_a_planted_checkpoint_runs_nothing',  # noqa: E501
    'test_runner/test_hostile_checkpoints.py::test_values_a_copy_can_not_take_fail_the_strict_check',  # noqa: E501
    'test_runner/test_hostile_checkpoints.py::test_lenient_load_from_of_a_meta_teacher_is_no_loaded_teacher',  # noqa: E501
    'test_runner/test_hostile_checkpoints.py::test_load_from_does_not_replace_the_configured_teacher',  # noqa: E501
    'test_runner/test_work_dir_lock.py::test_second_run_in_a_work_dir_in_use_is_refused',  # noqa: E501
    'test_runner/test_work_dir_lock.py::test_lock_of_a_killed_run_does_not_block',  # noqa: E501
    'test_tools/test_hostile_tools.py::test_benchmark_seeds_are_checked_before_any_run',  # noqa: E501
    'test_tools/test_hostile_tools.py::test_export_does_not_overwrite_its_checkpoint',  # noqa: E501
    'test_tools/test_hostile_tools.py::test_export_does_not_overwrite_its_config',  # noqa: E501
    # ... the WEAK ones ...
    'test_errors/test_hostile_inputs.py::test_negative_running_var_in_a_teacher_is_named_at_load',  # noqa: E501
    'test_errors/test_hostile_inputs.py::test_batch_size_as_a_string_is_named_before_the_run',  # noqa: E501
    'test_errors/test_hostile_inputs.py::test_a_word_for_a_number_is_named_at_build',  # noqa: E501
    'test_errors/test_hostile_inputs.py::test_cfg_options_that_can_not_work_are_named',  # noqa: E501
    'test_runner/test_hostile_checkpoints.py::test_student_only_checkpoint_without_its_record_names_the_fix',  # noqa: E501
    'test_errors/test_hostile_inputs.py::test_resume_after_the_training_set_changed_names_the_data',  # noqa: E501
    'test_errors/test_hostile_inputs.py::test_rrd_memory_that_can_not_be_made_is_named',  # noqa: E501
    'test_errors/test_hostile_inputs.py::test_multiview_with_a_count_per_pipeline_missing_is_named',  # noqa: E501
    'test_errors/test_hostile_inputs.py::test_zero_std_is_named_at_build',
    'test_tools/test_hostile_tools.py::test_plot_curves_names_the_file_and_line',  # noqa: E501
    # ... and the property tests.
    'test_runner/test_properties.py::test_generated_pickles_never_run_code',  # noqa: E501
    'test_runner/test_properties.py::test_generated_state_dicts_never_load_silently',  # noqa: E501
    'test_runner/test_properties.py::test_wrong_config_values_fail_naming_the_key',  # noqa: E501
]


def cited_tests(text):
    """``(file, name)`` of every test cited; ``::name`` continues the file
    cited last before it, as a reader reads it."""
    current, cited = None, []
    for match in re.finditer(r'`(test_[\w/]+\.py)?(?:::(test_\w+))?`', text):
        path, name = match.groups()
        current = path or current
        if name:
            cited.append((current, name))
    return cited


def compat_sections():
    """``{number: heading and body}`` of the patch modules' numbered
    sections; a number whose patches two modules share (5) has the
    heading of the first."""
    sections = {}
    for path in COMPAT:
        with open(path) as f:
            parts = re.split(r'^# (\d+)\. ', f.read(), flags=re.M)
        for i in range(1, len(parts), 2):
            number = int(parts[i])
            sections[number] = sections.get(number, '') + parts[i + 1]
    return sections


def test_every_cited_test_exists():
    with open(DOC) as f:
        cited = cited_tests(f.read())
    assert len(cited) > 40
    for path, name in cited:
        full = osp.join(REPO, 'tests', path)
        assert osp.isfile(full), path
        with open(full) as f:
            assert re.search(rf'^def {name}\(', f.read(), re.M), \
                f'{path}::{name}'


def test_every_case_of_the_issue_has_its_row():
    with open(DOC) as f:
        cited = {f'{p}::{n}' for p, n in cited_tests(f.read())}
    assert [r for r in REQUIRED if r not in cited] == []


#: (words of a row's first cell, words of the heading of the relkd_mm.compat
#: section that implements it).
PATCH_TOPICS = [
    ('crafted|TORCH_FORCE|--resume FILE', 'checkpoints unpickled'),
    ('cfg_path', 'config paths'),
]
RUNNER = osp.join(REPO, 'relkd_mm', 'runner', 'relkd_runner.py')


def test_patch_numbers_match_compat():
    sections = compat_sections()
    with open(DOC) as f:
        text = f.read()
    numbers = [int(n) for n in re.findall(r'patch (\d+)', text)]
    assert numbers and all(n in sections for n in numbers)
    checked = 0
    for line in text.splitlines():
        cell = line.split('|')[1] if line.startswith('|') else ''
        for number in map(int, re.findall(r'patch (\d+)', cell)):
            heading = sections[number].splitlines()[0]
            topics = [h for words, h in PATCH_TOPICS
                      if re.search(words, cell)]
            assert topics, f'no topic for: {cell}'
            assert topics[0] in heading, (number, heading, cell)
            checked += 1
    # Only the stack's patches 4 and 5 are left: 6, 8, 11-13 and 17 are
    # RelKDRunner rows now, 9, 10 and the rest of 6 and 17 registered types'.
    assert checked >= 4
    assert re.search(r'`RelKDRunner` makes MMEngine.s\s+launcher', text)
    with open(RUNNER) as f:
        assert '_init_dist_pytorch' in f.read()  # its setup_env says why
