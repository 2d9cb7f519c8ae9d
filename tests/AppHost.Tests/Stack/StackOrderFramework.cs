using System.Reflection;
using Xunit.Abstractions;
using Xunit.Sdk;

[assembly: TestFramework("DataStack.AppHost.Tests.Stack.StackOrderFramework", "AppHost.Tests")]

namespace DataStack.AppHost.Tests.Stack;

/// <summary>
/// xUnit's own framework, with the test classes of each collection run in the order of their
/// <see cref="StackOrderAttribute"/> (then as discovered).
/// </summary>
/// <remarks>
/// xUnit 2 runs a collection's classes in the order their first test case arrives, and offers orderers only within
/// a class or between collections. Handing the executor the test cases sorted by their class's order is the one
/// place where the order of classes can be set; nothing else of the framework changes.
/// </remarks>
public sealed class StackOrderFramework(IMessageSink messageSink) : XunitTestFramework(messageSink)
{
    protected override ITestFrameworkExecutor CreateExecutor(AssemblyName assemblyName) =>
        new OrderedExecutor(assemblyName, SourceInformationProvider, DiagnosticMessageSink);

    private sealed class OrderedExecutor(AssemblyName assemblyName, ISourceInformationProvider sourceInformationProvider, IMessageSink diagnosticMessageSink)
        : XunitTestFrameworkExecutor(assemblyName, sourceInformationProvider, diagnosticMessageSink)
    {
        protected override void RunTestCases(IEnumerable<IXunitTestCase> testCases, IMessageSink executionMessageSink, ITestFrameworkExecutionOptions executionOptions) =>
            base.RunTestCases(
                [.. testCases.Select((testCase, index) => (testCase, index)).OrderBy(pair => OrderOf(pair.testCase)).ThenBy(pair => pair.index).Select(pair => pair.testCase)],
                executionMessageSink,
                executionOptions);

        private static int OrderOf(IXunitTestCase testCase) =>
            testCase.TestMethod.TestClass.Class.GetCustomAttributes(typeof(StackOrderAttribute)).FirstOrDefault()?.GetConstructorArguments().OfType<int>().First() ?? 0;
    }
}
